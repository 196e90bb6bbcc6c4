"""Interop with the official app SDK: ``@mentra/sdk`` 2.1.29 ``AppServer`` against the cloud.

The Node app in ``tests/cloud/sdk_app/app.mjs`` subscribes to one stream in ``onSession``
and answers each event with ``session.layouts.showTextWall``. It prints JSON lines
(``{"wsquake": true, "event": ...}``) that the test reads; every other stdout line is the
SDK's own log. The app blocks the SDK's start-up version check against api.mentra.glass
(an axios interceptor), so nothing waits on the internet.

Set-up: ``npm ci --prefix tests/cloud/sdk_app`` (Node 18+).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.conftest import Harness, subscribed
from tests.cloud.peers import Inbox, PeerError, free_port

pytestmark = pytest.mark.interop

SDK_APP = Path(__file__).parent / "sdk_app"
PKG = "com.wsquake.sdk-echo"
API_KEY = "sdk-interop-key-0123456789"
EMAIL = "anne-marie@ex-ample.com"  # hyphens on purpose (§8, D1 off)
SID = f"{EMAIL}-{PKG}"
# Real SDK timings (5 s ack timeout, reconnect backoff) run at protocol speed here.
STARTUP_S = 30.0
STEP_S = 15.0


def _require_node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (the SDK interop test needs Node.js 18+)")
    if not (SDK_APP / "node_modules" / "@mentra" / "sdk" / "package.json").is_file():
        pytest.fail(
            "tests/cloud/sdk_app/node_modules is missing: run `npm ci --prefix tests/cloud/sdk_app`"
        )
    return node


class NodeApp:
    """The Node SDK app as a child process; its report lines land in ``inbox``."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.inbox = Inbox()
        self.log: list[str] = []

    async def pump_stdout(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                item = None
            if isinstance(item, dict) and item.get("wsquake") is True:
                await self.inbox.put({**item, "type": item.get("event")})
            else:
                self.log.append(line)
        await self.inbox.close()

    async def pump_stderr(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.log.append("stderr: " + raw.decode(errors="replace").rstrip("\n"))

    async def next(self, event: str, timeout: float = STEP_S) -> dict[str, Any]:  # noqa: ASYNC109
        try:
            item = await self.inbox.next(event, timeout=timeout, what="from the Node app ")
        except PeerError as exc:
            tail = "\n".join(self.log[-40:])
            raise PeerError(f"{exc}\n--- Node app output (tail) ---\n{tail}") from None
        assert isinstance(item, dict)
        return item


@contextlib.asynccontextmanager
async def node_app(harness: Harness, port: int, stream: str) -> AsyncIterator[NodeApp]:
    node = _require_node()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BETTERSTACK")}
    env.update(
        WSQ_PORT=str(port),
        WSQ_PACKAGE_NAME=PKG,
        WSQ_API_KEY=API_KEY,
        WSQ_STREAM=stream,
        NO_COLOR="1",
        FORCE_COLOR="0",
    )
    process = await asyncio.create_subprocess_exec(
        node,
        "app.mjs",
        cwd=SDK_APP,  # the SDK reads ./node_modules/@mentra/sdk/package.json from cwd
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    app = NodeApp(process)
    try:
        # The harness's TaskGroup owns the pumps; they end when the process exits.
        harness.tg.create_task(app.pump_stdout())
        harness.tg.create_task(app.pump_stderr())
        yield app
    finally:
        await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        async with asyncio.timeout(5):
            await process.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


async def _sdk_cloud(harness: Harness, port: int) -> Any:
    from wsquake.cloud import AppEntry

    entry = AppEntry(package_name=PKG, public_url=f"http://127.0.0.1:{port}", api_key=API_KEY)
    # Protocol speed (time_scale 1): the SDK's own 5 s handshake timeout is not scaled.
    return await harness.cloud(entry, time_scale=1.0, boot_card_ms=0)


async def test_sdk_app_receives_button_press_and_its_text_wall_reaches_glasses(
    harness: Harness,
) -> None:
    port = free_port()
    cloud = await _sdk_cloud(harness, port)
    async with node_app(harness, port, "button_press") as app:
        await app.next("ready", timeout=STARTUP_S)
        glasses = await harness.glasses(cloud, EMAIL)
        await glasses.next_message("connection_ack")
        await glasses.start_app(PKG)
        session = await app.next("session")
        assert (session["sessionId"], session["userId"]) == (SID, EMAIL)
        await app.next("subscribed")
        # The SDK's first update after the ack is empty; the handler adds button_press.
        await subscribed(glasses, PKG, ["button_press"], timeout=STEP_S)
        await glasses.press_button("main", "long")
        event = await app.next("event")
        assert event["data"]["buttonId"] == "main"
        assert event["data"]["pressType"] == "long"
        shown = await glasses.next_message(
            "display_event",
            where=lambda m: m.get("packageName") == PKG
            and m["layout"].get("text") == "button main long",
            timeout=STEP_S,
        )
        assert shown["layout"]["layoutType"] == "text_wall"
        assert shown["view"] == "main"
        view = await harness.app_view(cloud, EMAIL, PKG)
        assert view["state"] == "running"
        assert view["subscriptions"] == ["button_press"]


async def test_stop_app_reaches_sdk_on_stop_and_cloud_ends_clean(harness: Harness) -> None:
    port = free_port()
    cloud = await _sdk_cloud(harness, port)
    async with node_app(harness, port, "head_position") as app:
        await app.next("ready", timeout=STARTUP_S)
        glasses = await harness.glasses(cloud, EMAIL)
        await glasses.start_app(PKG)
        await app.next("session")
        await subscribed(glasses, PKG, ["head_position"], timeout=STEP_S)
        await glasses.send_event("head_position", position="up")
        await glasses.next_message(
            "display_event", where=lambda m: m["layout"].get("text") == "head up", timeout=STEP_S
        )
        await glasses.stop_app(PKG)
        stop = await app.next("stop")
        assert stop["sessionId"] == SID
        await glasses.next_message(
            "app_state_change",
            where=lambda m: PKG not in m["userSession"]["activeAppSessions"],
            timeout=STEP_S,
        )
        # app_state_change is step 4 of the stop procedure; the state settles after step 6.
        view = await harness.until(
            lambda: _disconnected(harness, cloud), what="app disconnected", timeout=STEP_S
        )
        assert view["sockets"] == 0


async def _disconnected(harness: Harness, cloud: Any) -> dict[str, Any] | None:
    view = await harness.app_view(cloud, EMAIL, PKG)
    return view if view["state"] == "disconnected" else None


async def test_glasses_dispose_ends_the_sdk_session(harness: Harness) -> None:
    # Timeline (protocol speed): glasses grace 1 s. The glasses close; after 1 s the cloud
    # disposes the user session: stop_request (system_stop) reaches the SDK's onStop, the
    # app socket is closed 1000 "User session ended", and the user leaves /api/sessions.
    from wsquake.cloud import AppEntry

    port = free_port()
    entry = AppEntry(package_name=PKG, public_url=f"http://127.0.0.1:{port}", api_key=API_KEY)
    cloud = await harness.cloud(entry, time_scale=1.0, boot_card_ms=0, glasses_grace_s=1)
    async with node_app(harness, port, "button_press") as app:
        await app.next("ready", timeout=STARTUP_S)
        glasses = await harness.glasses(cloud, EMAIL)
        await glasses.start_app(PKG)
        await app.next("session")
        await subscribed(glasses, PKG, ["button_press"], timeout=STEP_S)
        await glasses.close()
        stop = await app.next("stop")
        assert stop["sessionId"] == SID
        assert stop["reason"] == "system_stop"
        await harness.until(
            lambda: _no_users(harness, cloud), what="user session disposed", timeout=STEP_S
        )


async def _no_users(harness: Harness, cloud: Any) -> bool:
    return bool((await harness.sessions(cloud))["users"] == [])
