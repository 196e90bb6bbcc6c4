"""HTTP routes of app-server registration and restart recovery (PROTOCOL.md §7.3), and
the staleness sweep. Bad bodies get 400 with a JSON error naming the field."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wsquake.cloud import wire
from wsquake.cloud.apps import AppManager
from wsquake.cloud.core import CloudCore
from wsquake.cloud.exceptions import RegistrationError, WebhookError
from wsquake.cloud.registrations import parse_id_body, parse_register_body

__all__ = ["RegistrationApi"]

logger = logging.getLogger(__name__)


class RegistrationApi:
    def __init__(self, core: CloudCore, apps: AppManager) -> None:
        self.core = core
        self.apps = apps
        self.settings = core.settings
        self.metrics = core.metrics

    async def _json_body(self, request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw) if raw else None
        except ValueError as exc:
            raise RegistrationError(400, f"Request body is not valid JSON: {exc}") from exc

    def _reg_error(self, route: str, exc: RegistrationError) -> Response:
        self.metrics.http_bad_requests.labels(route=route, status=str(exc.status)).inc()
        return JSONResponse({"success": False, "error": exc.error}, status_code=exc.status)

    async def register(self, request: Request) -> Response:
        core = self.core
        try:
            req = parse_register_body(await self._json_body(request))
            entry = core.registry.get(req.package_name)
            if entry is None or not core.registry.api_key_matches(entry, req.api_key):
                raise RegistrationError(401, "Invalid API key for package " + req.package_name)
        except RegistrationError as exc:
            return self._reg_error("register", exc)
        reg, previous = core.registrations.register(req)
        if self.settings.send_registration_webhooks:
            body = wire.server_registration(
                reg.registration_id, reg.package_name, list(reg.server_urls)
            )
            core.spawn(self._notify_server(reg.webhook_url, body), "server_registration")
        if previous is not None and self.settings.recover_on_reregister:
            core.spawn(self._recover_quietly(reg.registration_id), f"recover:{reg.registration_id}")
        return JSONResponse({"success": True, "registrationId": reg.registration_id},
                            status_code=201)

    async def heartbeat(self, request: Request) -> Response:
        try:
            self.core.registrations.heartbeat(parse_id_body(await self._json_body(request)))
        except RegistrationError as exc:
            return self._reg_error("heartbeat", exc)
        return JSONResponse({"success": True})

    async def restart(self, request: Request) -> Response:
        try:
            reg_id = parse_id_body(await self._json_body(request))
            self.core.registrations.get(reg_id)
        except RegistrationError as exc:
            return self._reg_error("restart", exc)
        recovered = await self._recover(reg_id)
        return JSONResponse({"success": True, "recoveredSessions": recovered})

    async def _recover(self, registration_id: str) -> int:
        reg = self.core.registrations.get(registration_id)
        ws_url = reg.server_urls[0] if reg.server_urls else None
        results: list[asyncio.Task[bool]] = []
        async with asyncio.TaskGroup() as tg:
            for session_id in list(reg.active_sessions):
                results.append(
                    tg.create_task(
                        self.apps.recover(session_id, reg.package_name, reg.webhook_url, ws_url)
                    )
                )
        return sum(1 for t in results if t.result())

    async def _notify_server(self, url: str, body: dict[str, Any]) -> None:
        """Optional registration webhooks: one bounded attempt, failures only logged."""
        try:
            await self.core.webhooks.post_once(
                url, body, timeout_s=self.settings.timings.scaled("webhook_timeout_s")
            )
        except WebhookError as exc:
            logger.info("%s webhook failed: %s", body["type"], exc)

    async def _recover_quietly(self, registration_id: str) -> None:
        recovered = await self._recover(registration_id)
        logger.info("re-registration %s recovered %d sessions", registration_id, recovered)

    async def registrations(self, request: Request) -> Response:
        return JSONResponse(
            {"registrations": [r.to_json() for r in self.core.registrations.all()]}
        )

    async def sweep_forever(self) -> None:
        interval = self.settings.timings.scaled("registration_sweep_s")
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            stale = self.core.registrations.sweep(  # pure, cannot raise
                self.settings.timings.scaled("registration_stale_s")
            )
            for reg in stale:
                logger.info("registration %s (%s) is stale", reg.registration_id, reg.package_name)
            if not self.settings.send_registration_webhooks:
                continue
            for reg in self.core.registrations.all():
                if reg.is_active:
                    body = wire.server_heartbeat(reg.registration_id)
                    self.core.spawn(self._notify_server(reg.webhook_url, body), "heartbeat")
