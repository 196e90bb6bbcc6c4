"""Fixtures for the reference-cloud integration tests: one :class:`Harness` per test.

The harness starts real peers and a real cloud on loopback (port 0) and stops all of them,
in reverse order, when the test ends (also on failure).

Timing: tests run the protocol's timings scaled by ``time_scale`` (default ``SCALE``), so
the default app grace of 5 s lasts 5 * SCALE s. Each timing test states its timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cloud.peers import (
    WAIT_S,
    AppServerPeer,
    AppSocket,
    GlassesClient,
    Message,
    PeerError,
    WebhookMode,
    open_ws,
)

if TYPE_CHECKING:  # imported lazily so H5's unit tests in this folder never depend on us
    from wsquake.cloud import AppEntry, CloudServer
    from wsquake.cloud.settings import Defects

SECRET = "wsquake-integration-test-secret-0123456789"
# One protocol second lasts SCALE wall seconds: app grace 5 s -> 0.5 s, start timeout 5 s
# -> 0.5 s, ping interval 10 s -> 1 s. Generous, as the machine is shared.
SCALE = 0.1
# Window for negative assertions ("nothing arrives"): 3 protocol seconds = 0.3 s wall,
# two orders of magnitude above a loopback relay (a few ms), and shorter than the timers
# under test unless a test says otherwise.
QUIET = 3 * SCALE
# Run the whole suite against another defect profile (PROTOCOL.md §12) to see which tests
# catch which upstream defect: WSQUAKE_TEST_DEFECT_PROFILE=upstream pytest tests/cloud
DEFECT_PROFILE_ENV = "WSQUAKE_TEST_DEFECT_PROFILE"

MetricKey = tuple[str, frozenset[tuple[str, str]]]


def key_of(app_server: AppServerPeer) -> str:
    return f"key-{app_server.package_name}"


class Harness:
    """Owns every peer and cloud a test starts; closes them all on exit."""

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self.tg: asyncio.TaskGroup
        self.http: httpx.AsyncClient
        self.secret = SECRET

    async def __aenter__(self) -> Harness:
        self.tg = await self._stack.enter_async_context(asyncio.TaskGroup())
        self.http = await self._stack.enter_async_context(
            httpx.AsyncClient(timeout=WAIT_S, trust_env=False)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    # ---------------------------------------------------------------- components

    async def app_server(
        self,
        package_name: str = "com.example.echo",
        *,
        api_key: str | None = None,
        subscriptions: Sequence[str | Message] = ("button_press",),
        mode: WebhookMode = WebhookMode.SDK,
        stop_mode: WebhookMode = WebhookMode.ACCEPT,
    ) -> AppServerPeer:
        peer = AppServerPeer(
            package_name,
            api_key if api_key is not None else f"key-{package_name}",
            subscriptions=subscriptions,
            mode=mode,
            stop_mode=stop_mode,
        )
        return await self._stack.enter_async_context(peer)

    async def cloud(
        self,
        *apps: AppServerPeer | AppEntry,
        permissions: dict[str, tuple[str, ...]] | None = None,
        types: dict[str, str] | None = None,
        time_scale: float = SCALE,
        defects: Defects | None = None,
        max_message_bytes: int = 1048576,
        **timings: Any,
    ) -> CloudServer:
        from wsquake.cloud import AppEntry, CloudServer, CloudSettings, Timings
        from wsquake.cloud.settings import Defects

        entries = []
        for app in apps:
            if isinstance(app, AppEntry):
                entries.append(app)
                continue
            perms = (permissions or {}).get(app.package_name, ("ALL",))
            entries.append(
                AppEntry(
                    package_name=app.package_name,
                    public_url=app.url,
                    api_key=app.api_key,
                    permissions=perms,
                    type=(types or {}).get(app.package_name, "standard"),  # type: ignore[arg-type]
                )
            )
        settings = CloudSettings(
            host="127.0.0.1",
            port=0,
            jwt_secret=SECRET,
            timings=Timings(time_scale=time_scale, **timings),
            defects=defects if defects is not None else _default_defects(Defects),
            apps=tuple(entries),
            max_message_bytes=max_message_bytes,
        )
        return await self._stack.enter_async_context(CloudServer(settings))

    def token(self, email: str, **kwargs: Any) -> str:
        from wsquake.cloud import mint_token

        return mint_token(SECRET, email, **kwargs)

    def expired_token(self, email: str) -> str:
        from wsquake.cloud import mint_token

        return mint_token(SECRET, email, exp=datetime.now(UTC) - timedelta(minutes=5))

    async def glasses(
        self,
        cloud: CloudServer,
        email: str = "alice@example.com",
        *,
        token: str | None = None,
        via_query: bool = False,
        url: str | None = None,
    ) -> GlassesClient:
        """An open glasses socket (its ``connection_ack`` is left in the inbox); ``url``
        overrides the cloud's ``/glasses-ws`` URL (e.g. a fault proxy in front of it)."""
        token = token if token is not None else self.token(email)
        url = url if url is not None else cloud.ws_url("/glasses-ws")
        headers = None
        if via_query:
            url = f"{url}?token={token}"
        else:
            headers = {"Authorization": f"Bearer {token}"}
        ws = await open_ws(url, headers=headers)
        client = GlassesClient(ws, email)
        self._stack.push_async_callback(_close_quietly, client)
        self.tg.create_task(client.run_reader())
        return client

    async def app_socket(self, cloud: CloudServer, path: str = "/app-ws") -> AppSocket:
        """A raw, not yet initialised app socket."""
        ws = await open_ws(cloud.ws_url(path))
        client = AppSocket(ws)
        self._stack.push_async_callback(_close_quietly, client)
        self.tg.create_task(client.run_reader())
        return client

    # ------------------------------------------------------------------- probes

    async def sessions(self, cloud: CloudServer) -> dict[str, Any]:
        response = await self.http.get(f"{cloud.url}/api/sessions")
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body, dict)
        return body

    async def user(self, cloud: CloudServer, email: str) -> dict[str, Any] | None:
        for user in (await self.sessions(cloud))["users"]:
            if user["userId"] == email:
                return dict(user)
        return None

    async def app_view(self, cloud: CloudServer, email: str, package: str) -> dict[str, Any]:
        user = await self.user(cloud, email)
        assert user is not None, f"{email} not in /api/sessions"
        for app in user["apps"]:
            if app["packageName"] == package:
                return dict(app)
        raise AssertionError(f"{package} not in {email}'s apps: {user['apps']}")

    async def metrics(self, cloud: CloudServer) -> dict[MetricKey, float]:
        response = await self.http.get(f"{cloud.url}/metrics")
        assert response.status_code == 200, response.text
        values: dict[MetricKey, float] = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                values[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return values

    async def metric(self, cloud: CloudServer, name: str, **labels: str) -> float:
        """Sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
        total = 0.0
        wanted = set(labels.items())
        for (sample, sample_labels), value in (await self.metrics(cloud)).items():
            if sample == name and wanted <= set(sample_labels):
                total += value
        return total

    async def until(
        self,
        probe: Callable[[], Any],
        *,
        timeout: float = WAIT_S,  # noqa: ASYNC109
        what: str = "condition",
        every: float = 0.02,
    ) -> Any:
        """Poll an HTTP-side ``probe`` (async, truthy when done) until it holds.

        Only for state that the cloud exposes solely through its HTTP API (``/api/sessions``
        and ``/metrics`` have no push channel); everything on a socket is awaited instead.
        """
        last: Any = None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    last = await probe()
                    if last:
                        return last
                    await asyncio.sleep(every)
        except TimeoutError:
            raise PeerError(f"{what} not reached within {timeout:.2f} s (last: {last!r})") from None


def _default_defects(defects_type: Any) -> Any:
    profile = os.environ.get(DEFECT_PROFILE_ENV, "fixed")
    if profile not in ("fixed", "upstream"):
        raise ValueError(f"{DEFECT_PROFILE_ENV} must be 'fixed' or 'upstream', got {profile!r}")
    return defects_type(profile=profile)


async def _close_quietly(client: GlassesClient | AppSocket) -> None:
    if client.is_closed:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(3):
            await client.close()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with Harness() as h:
        yield h


# --------------------------------------------------------------------- helpers


async def running_app(
    h: Harness,
    glasses: GlassesClient,
    app_server: AppServerPeer,
    *,
    timeout: float = WAIT_S,  # noqa: ASYNC109
) -> AppSocket:
    """Start ``app_server``'s app from the glasses; return its socket once subscribed."""
    await glasses.start_app(app_server.package_name)
    app_socket = await app_server.next_socket(timeout=timeout)
    await subscribed(glasses, app_server.package_name, app_server.subscriptions, timeout=timeout)
    return app_socket


async def subscribed(
    glasses: GlassesClient,
    package: str,
    streams: Sequence[str | Message],
    *,
    timeout: float = WAIT_S,  # noqa: ASYNC109
    since: int = 0,
) -> Message:
    """Wait for the ``app_state_change`` that shows running ``package`` subscribed to
    ``streams``; ``since`` (a ``glasses.mark()``) ignores older messages."""
    wanted = sorted(s if isinstance(s, str) else str(s.get("stream")) for s in streams)

    def shows(message: Message) -> bool:
        session = message.get("userSession") or {}
        if package not in (session.get("activeAppSessions") or []):
            return False
        have = (session.get("appSubscriptions") or {}).get(package, [])
        if not isinstance(have, list):
            return False
        names = sorted(s if isinstance(s, str) else str(s.get("stream")) for s in have)
        return names == wanted

    return await glasses.next_message(
        "app_state_change", where=shows, timeout=timeout, since=since
    )


def scaled(seconds: float, scale: float = SCALE) -> float:
    """``seconds`` of protocol time in wall seconds."""
    return seconds * scale


def approx_le(value: float, bound: float, slack: float) -> bool:
    return value <= bound + slack and not math.isnan(value)
