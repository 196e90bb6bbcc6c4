"""CloudServer as a service: real port on entry, everything stopped on exit."""

from __future__ import annotations

import asyncio
import socket

import pytest
from websockets.asyncio.client import connect

from wsquake.cloud import AppEntry, CloudServer, CloudSettings, Timings, mint_token

SECRET = "server-test-secret"
WAIT_S = 10.0


def blackhole_listener() -> socket.socket:
    """A TCP listener that never accepts: webhooks to it hang until cancelled."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock


async def test_exit_closes_sockets_cancels_timers_and_leaves_no_tasks() -> None:
    hole = blackhole_listener()
    try:
        entry = AppEntry("com.ex-ample.app", f"http://127.0.0.1:{hole.getsockname()[1]}", "k")
        settings = CloudSettings(port=0, jwt_secret=SECRET, apps=(entry,),
                                 timings=Timings(time_scale=1.0))
        before = asyncio.all_tasks()
        async with CloudServer(settings) as cloud:
            assert cloud.port > 0
            assert cloud.url == f"http://127.0.0.1:{cloud.port}"
            assert cloud.ws_url("/app-ws") == f"ws://127.0.0.1:{cloud.port}/app-ws"
            token = mint_token(SECRET, "anne-marie@ex-ample.com")
            client = await connect(cloud.ws_url(), additional_headers={
                "Authorization": f"Bearer {token}"})
            await client.recv()  # connection_ack
            # A start whose webhook hangs: a timer and a webhook task are pending at exit.
            await client.send('{"type":"start_app","packageName":"com.ex-ample.app"}')
            await client.recv()  # app_state_change (loading)
            port = cloud.port
        async with asyncio.timeout(WAIT_S):
            await client.wait_closed()
        assert client.close_code == 1001
        assert asyncio.all_tasks() - before == set()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        hole.close()


async def test_error_in_the_body_propagates_unwrapped() -> None:
    settings = CloudSettings(port=0, jwt_secret=SECRET)
    with pytest.raises(KeyError, match="boom"):
        async with CloudServer(settings):
            raise KeyError("boom")


async def test_port_in_use_fails_on_entry() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        settings = CloudSettings(port=taken.getsockname()[1], jwt_secret=SECRET)
        with pytest.raises(OSError):
            async with CloudServer(settings):
                pass
    finally:
        taken.close()


@pytest.mark.parametrize("enabled", [False, True])
async def test_permessage_deflate_is_negotiated_only_when_enabled(enabled: bool) -> None:
    settings = CloudSettings(port=0, jwt_secret=SECRET, per_message_deflate=enabled)
    async with CloudServer(settings) as cloud:
        headers = {"Authorization": f"Bearer {mint_token(SECRET, 'deflate@example.com')}"}
        # The client offers permessage-deflate (the websockets default); the cloud decides.
        async with connect(cloud.ws_url("/glasses-ws"), additional_headers=headers) as ws:
            assert ws.response is not None
            negotiated = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
            assert ("permessage-deflate" in negotiated) is enabled
