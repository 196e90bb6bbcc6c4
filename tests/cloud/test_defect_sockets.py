"""Known upstream defects D6 (a second app init leaves the first socket open), D7 (a glasses
reconnect does not restart transcription, mic state or display) and D8 (the old glasses
socket is kept, and its late close still counts), each with its switch on and the fixed
behaviour with it off (PROTOCOL.md §12). SCALE = 0.1; QUIET = 0.3 s wall."""

from __future__ import annotations

import struct
from typing import Any

from tests.cloud.conftest import QUIET, Harness, running_app
from tests.cloud.peers import AppSocket, GlassesClient
from wsquake.cloud.settings import Defects

FIXED = Defects(profile="fixed")
EMAIL = "alice@example.com"
PKG = "com.example.echo"
SID = f"{EMAIL}-{PKG}"
TRANSCRIPTION = "transcription:en-US"


async def _one_second_of_audio(glasses: GlassesClient) -> None:
    """1 s of 16 kHz s16le audio in 100 ms frames: one synthetic transcription segment."""
    for n in range(10):
        await glasses.send_bytes(struct.pack("<I", n) + bytes(3196))


# --- D6 duplicate_app_sockets -------------------------------------------------------------


async def _second_init(harness: Harness, defects: Defects) -> tuple[Any, Any, AppSocket, AppSocket]:
    app = await harness.app_server(PKG)
    cloud = await harness.cloud(app, defects=defects)
    glasses = await harness.glasses(cloud, EMAIL)
    old = await running_app(harness, glasses, app)
    new = await harness.app_socket(cloud)
    await new.handshake(SID, PKG, app.api_key)
    return cloud, glasses, old, new


async def test_d6_second_init_leaves_the_first_socket_open_and_orphaned(
    harness: Harness,
) -> None:
    cloud, glasses, old, new = await _second_init(harness, Defects(duplicate_app_sockets=True))
    await old.expect_silence(None, QUIET)
    assert not old.is_closed
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["sockets"] == 2  # the D6 signal in /api/sessions
    assert (await harness.sessions(cloud))["connections"]["app_unbound"] == 1
    await glasses.press_button("last-init-wins")
    assert (await new.next_message("data_stream"))["data"]["buttonId"] == "last-init-wins"
    assert old.received("data_stream") == []
    assert await harness.metric(cloud, "wsquake_cloud_superseded_sockets_total") == 0


async def test_d6_off_second_init_supersedes_the_first_with_1008(harness: Harness) -> None:
    cloud, glasses, old, new = await _second_init(harness, FIXED)
    close = await old.wait_closed()
    assert (close.code, close.reason) == (1008, "Superseded by a newer connection")
    view = await harness.app_view(cloud, EMAIL, PKG)
    assert view["sockets"] == 1


# --- D7 glasses_reconnect_no_restart ---------------------------------------------------------


async def _reconnect_after_display(
    harness: Harness, defects: Defects
) -> tuple[Any, AppSocket, GlassesClient]:
    """A transcription app shows "hello"; VAD true was sent only before the glasses drop;
    the glasses reconnect within the grace (600 s protocol)."""
    app = await harness.app_server(PKG, subscriptions=[TRANSCRIPTION])
    cloud = await harness.cloud(app, defects=defects, glasses_grace_s=600)
    glasses = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, glasses, app)
    await glasses.send_event("VAD", status=True)
    await sock.display("hello")
    await glasses.next_message(
        "display_event", where=lambda m: m["layout"].get("text") == "hello"
    )
    await glasses.next_message("microphone_state_change")
    await glasses.close()

    async def connecting() -> bool:
        user = await harness.user(cloud, EMAIL)
        return user is not None and user["state"] == "CONNECTING"

    await harness.until(connecting, what="glasses loss seen")
    again = await harness.glasses(cloud, EMAIL)
    await again.next_message("connection_ack")
    return cloud, sock, again


async def test_d7_reconnect_does_not_restart_transcription_mic_or_display(
    harness: Harness,
) -> None:
    cloud, sock, again = await _reconnect_after_display(
        harness, Defects(glasses_reconnect_no_restart=True)
    )
    await _one_second_of_audio(again)
    await sock.expect_silence("data_stream", QUIET)  # audio arrives, no transcription
    assert again.received("microphone_state_change") == []
    assert again.received("display_event") == []
    user = await harness.user(cloud, EMAIL)
    assert user is not None and user["transcribing"] is False
    await again.send_event("VAD", status=True)  # only a new VAD true restarts it
    await _one_second_of_audio(again)
    assert (await sock.next_message("data_stream"))["streamType"] == TRANSCRIPTION


async def test_d7_off_reconnect_restarts_transcription_and_resends_mic_and_display(
    harness: Harness,
) -> None:
    cloud, sock, again = await _reconnect_after_display(harness, FIXED)
    await again.next_message("microphone_state_change")
    shown = await again.next_message("display_event")
    assert shown["layout"]["text"] == "hello"
    await _one_second_of_audio(again)
    assert (await sock.next_message("data_stream"))["streamType"] == TRANSCRIPTION


# --- D8 keep_old_glasses_socket -----------------------------------------------------------------


async def _second_glasses(
    harness: Harness, defects: Defects
) -> tuple[Any, AppSocket, GlassesClient, GlassesClient]:
    app = await harness.app_server(PKG, subscriptions=[TRANSCRIPTION])
    cloud = await harness.cloud(app, defects=defects, glasses_grace_s=600)
    old = await harness.glasses(cloud, EMAIL)
    sock = await running_app(harness, old, app)
    new = await harness.glasses(cloud, EMAIL)
    await new.next_message("connection_ack")
    return cloud, sock, old, new


async def test_d8_old_glasses_socket_stays_open_and_its_late_close_stops_transcription(
    harness: Harness,
) -> None:
    cloud, sock, old, new = await _second_glasses(harness, Defects(keep_old_glasses_socket=True))
    await old.expect_silence(None, QUIET)
    assert not old.is_closed
    user = await harness.user(cloud, EMAIL)
    assert user is not None and user["glassesSockets"] == 2  # the D8 signal
    await old.close()  # the old socket's late close (pong deadline or TCP upstream)

    async def late_close_seen() -> dict[str, Any] | None:
        user = await harness.user(cloud, EMAIL)
        return user if user is not None and user["glassesSockets"] == 1 else None

    user = await harness.until(late_close_seen, what="late close processed")
    assert user["state"] == "CONNECTED"
    assert user["disconnectedAt"] is not None  # set under a live socket
    assert user["transcribing"] is False
    await _one_second_of_audio(new)
    await sock.expect_silence("data_stream", QUIET)


async def test_d8_off_new_glasses_socket_replaces_the_old_one(harness: Harness) -> None:
    cloud, sock, old, new = await _second_glasses(harness, FIXED)
    close = await old.wait_closed()
    assert (close.code, close.reason) == (1000, "Replaced by new connection")
    user = await harness.user(cloud, EMAIL)
    assert user is not None
    assert (user["glassesSockets"], user["disconnectedAt"], user["transcribing"]) == (
        1, None, True
    )
    await _one_second_of_audio(new)
    assert (await sock.next_message("data_stream"))["streamType"] == TRANSCRIPTION
