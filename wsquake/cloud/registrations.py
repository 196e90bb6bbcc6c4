"""App-server registrations (PROTOCOL.md §7.3): the store and request validation.

Restart recovery itself needs the user sessions, so the cloud runs it
(``Cloud.recover_registration``); this module keeps the records and checks bodies.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wsquake.cloud.exceptions import RegistrationError

__all__ = ["Registration", "RegistrationRequest", "RegistrationStore", "parse_register_body"]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class RegistrationRequest:
    package_name: str
    api_key: str
    webhook_url: str
    server_urls: tuple[str, ...]


@dataclass(slots=True)
class Registration:
    registration_id: str
    package_name: str
    api_key_hash: str
    webhook_url: str
    server_urls: tuple[str, ...]
    registered_at: float  # wall clock (epoch s)
    last_seen: float  # monotonic, for staleness
    last_seen_wall: float
    is_active: bool = True
    active_sessions: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "registrationId": self.registration_id,
            "packageName": self.package_name,
            "webhookUrl": self.webhook_url,
            "serverUrls": list(self.server_urls),
            "registeredAt": _iso(self.registered_at),
            "isActive": self.is_active,
            "lastSeen": _iso(self.last_seen_wall),
            "activeSessions": list(self.active_sessions),
        }


def _need_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise RegistrationError(400, f"Missing required field: {name}")
    if not isinstance(value, str) or not value.strip():
        raise RegistrationError(400, f"Field {name} must be a non-empty string")
    return value.strip()


def parse_register_body(body: Any) -> RegistrationRequest:
    if not isinstance(body, Mapping):
        raise RegistrationError(400, "Request body must be a JSON object")
    package = _need_str(body, "packageName")
    api_key = _need_str(body, "apiKey")
    webhook = _need_str(body, "webhookUrl")
    if not webhook.startswith(("http://", "https://")):
        raise RegistrationError(400, "Field webhookUrl must be an http(s) URL")
    raw_urls = body.get("serverUrls")
    if raw_urls is None:
        raise RegistrationError(400, "Missing required field: serverUrls")
    if isinstance(raw_urls, str):
        urls = [u.strip() for u in raw_urls.split(",") if u.strip()]
    elif isinstance(raw_urls, list) and all(isinstance(u, str) for u in raw_urls):
        urls = [u.strip() for u in raw_urls if u.strip()]
    else:
        raise RegistrationError(
            400, "Field serverUrls must be a comma-separated string or an array of strings"
        )
    return RegistrationRequest(package, api_key, webhook, tuple(urls))


def parse_id_body(body: Any) -> str:
    if not isinstance(body, Mapping):
        raise RegistrationError(400, "Request body must be a JSON object")
    return _need_str(body, "registrationId")


class RegistrationStore:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._by_id: dict[str, Registration] = {}

    def all(self) -> list[Registration]:
        return list(self._by_id.values())

    def get(self, registration_id: str) -> Registration:
        reg = self._by_id.get(registration_id)
        if reg is None:
            raise RegistrationError(404, "Registration not found")
        return reg

    def register(self, req: RegistrationRequest) -> tuple[Registration, Registration | None]:
        """Add a registration; return it and the active one it replaces (same package and
        webhook URL), which is deactivated and hands over its active sessions."""
        previous = next(
            (
                r
                for r in self._by_id.values()
                if r.is_active
                and r.package_name == req.package_name
                and r.webhook_url == req.webhook_url
            ),
            None,
        )
        reg = Registration(
            registration_id=str(uuid.uuid4()),
            package_name=req.package_name,
            api_key_hash=hashlib.sha256(req.api_key.encode()).hexdigest(),
            webhook_url=req.webhook_url,
            server_urls=req.server_urls,
            registered_at=self._wall(),
            last_seen=self._clock(),
            last_seen_wall=self._wall(),
        )
        if previous is not None:
            previous.is_active = False
            reg.active_sessions = previous.active_sessions
            previous.active_sessions = []
        self._by_id[reg.registration_id] = reg
        return reg, previous

    def heartbeat(self, registration_id: str) -> Registration:
        reg = self.get(registration_id)
        reg.last_seen = self._clock()
        reg.last_seen_wall = self._wall()
        return reg

    def newest_active(self, package: str) -> Registration | None:
        best: Registration | None = None
        for reg in self._by_id.values():
            if reg.is_active and reg.package_name == package:
                if best is None or reg.registered_at >= best.registered_at:
                    best = reg
        return best

    def add_session(self, package: str, app_session_id: str) -> None:
        reg = self.newest_active(package)
        if reg is not None and app_session_id not in reg.active_sessions:
            reg.active_sessions.append(app_session_id)

    def remove_session(self, app_session_id: str) -> None:
        """Remove by exact id (hyphen-safe: no splitting involved)."""
        for reg in self._by_id.values():
            if app_session_id in reg.active_sessions:
                reg.active_sessions.remove(app_session_id)

    def sweep(self, stale_after_s: float) -> list[Registration]:
        """Deactivate registrations not seen for ``stale_after_s``; return them."""
        now = self._clock()
        stale = [
            r for r in self._by_id.values() if r.is_active and now - r.last_seen > stale_after_s
        ]
        for reg in stale:
            reg.is_active = False
        return stale
