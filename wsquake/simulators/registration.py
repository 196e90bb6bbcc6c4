"""TPA-server registration with the cloud (PROTOCOL.md §7.3), as an app server does it.

``POST {cloud}/api/tpa-server/register {packageName, apiKey, webhookUrl, serverUrls}``
answers ``201 {success, registrationId}``; then ``POST /api/tpa-server/heartbeat
{registrationId}`` every ``heartbeat_interval_s`` keeps it fresh (a 404 registers again).
A new app-server process with the same ``webhookUrl`` registering makes the cloud
deactivate the old registration and re-send ``session_request`` for its sessions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from wsquake.config import ConfigError
from wsquake.history import EventKind, History, Outcome
from wsquake.simulators.app_model import RegistrationFailed

__all__ = ["TpaRegistration", "default_server_urls"]

logger = logging.getLogger(__name__)


def default_server_urls(cloud_url: str) -> list[str]:
    """``ws(s)://<cloud>/app-ws`` for an ``http(s)://<cloud>`` base URL."""
    base = cloud_url.rstrip("/")
    return ["ws" + base[len("http"):] + "/app-ws"]


def check_cloud_url(url: str) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError("register_with", f"expected an http(s) URL, got {url!r}")
    return url.rstrip("/")


@dataclass(slots=True)
class TpaRegistration:
    """One app server's registration; :meth:`register` then :meth:`run_heartbeats`."""

    http: httpx.AsyncClient
    cloud_url: str
    package_name: str
    api_key: str
    webhook_url: str
    history: History
    server_urls: Sequence[str] = ()
    heartbeat_interval_s: float = 60.0
    registration_id: str | None = None
    registrations: int = 0
    heartbeats: int = 0

    def __post_init__(self) -> None:
        self.cloud_url = check_cloud_url(self.cloud_url)

    async def register(self) -> str:
        """Register; returns the ``registrationId`` or raises :class:`RegistrationFailed`."""
        url = self.cloud_url + "/api/tpa-server/register"
        body = {
            "packageName": self.package_name,
            "apiKey": self.api_key,
            "webhookUrl": self.webhook_url,
            "serverUrls": list(self.server_urls) or default_server_urls(self.cloud_url),
        }
        try:
            response = await self.http.post(url, json=body)
        except httpx.HTTPError as exc:
            raise RegistrationFailed(url, f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 201:
            raise RegistrationFailed(url, f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            registration_id = response.json()["registrationId"]
        except (ValueError, KeyError, TypeError):
            raise RegistrationFailed(url, f"no registrationId in {response.text[:200]!r}") from None
        if not isinstance(registration_id, str) or not registration_id:
            raise RegistrationFailed(url, f"registrationId is not a string: {registration_id!r}")
        self.registration_id = registration_id
        self.registrations += 1
        self.history.record(EventKind.NOTE, Outcome.INFO, client_id=self.package_name,
                            text=f"registered {registration_id} at {url}")
        logger.info("%s registered as %s", self.package_name, registration_id)
        return registration_id

    async def run_heartbeats(self) -> None:
        """Heartbeat forever (cancel to stop); failures are logged, a 404 re-registers."""
        url = self.cloud_url + "/api/tpa-server/heartbeat"
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            try:
                response = await self.http.post(url, json={"registrationId": self.registration_id})
                if response.status_code == 404:
                    logger.warning("%s: registration unknown to the cloud; registering again",
                                   self.package_name)
                    await self.register()
                elif response.status_code == 200:
                    self.heartbeats += 1
                else:
                    logger.warning("%s: heartbeat got HTTP %d", self.package_name,
                                   response.status_code)
            except (httpx.HTTPError, RegistrationFailed) as exc:
                logger.warning("%s: heartbeat failed: %s", self.package_name, exc)
