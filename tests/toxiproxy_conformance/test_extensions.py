"""Extension cases X01-X10 (spec/TOXIPROXY.md §5.2): embedded server only (X01: real only).

WebSocket peers run with compression off (``compression=None``) unless a case says so.
Synchronising: the echo server answers a ping at once from its reader thread, but echoes
from its handler thread, so a pong may overtake echoes. Hence :func:`settle` first waits
until the server has *echoed* the messages it was meant to get, then sends a ping: that
pong travels behind those echoes on the downstream byte stream (control frames are never
dropped), so once it arrives everything that will arrive is queued in the client.
"""

from __future__ import annotations

import json
import socket
import statistics
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from tests.toxiproxy_conformance.conftest import ProxyFactory
from tests.toxiproxy_conformance.peers import (
    IO_TIMEOUT,
    TcpPeer,
    WsEchoPeer,
    assert_delay,
    connect,
    poll_until,
    read_until_close,
    recv_exactly,
    reply_on_eof,
)
from wsquake.faults.client import (
    Bandwidth,
    DropChunk,
    Latency,
    ProxyInfo,
    ResetPeer,
    ToxiproxyClient,
    WsClose,
    WsDelay,
    WsDrop,
    WsDropType,
)

pytestmark = pytest.mark.timeout(30)
embedded = pytest.mark.embedded_only
dataplane = pytest.mark.dataplane
Api = Callable[..., requests.Response]
Peers = Callable[..., TcpPeer]


def ws_client(
    client: ToxiproxyClient, proxy: ProxyInfo, compression: str | None = None
) -> ClientConnection:
    host, port = client.connect_address(proxy)
    # max_queue=None: the client must keep reading (and see pongs) while tests hold
    # more than the default 16 unread messages.
    return ws_connect(
        f"ws://{host}:{port}/", compression=compression, open_timeout=IO_TIMEOUT,
        close_timeout=IO_TIMEOUT, max_queue=None,
    )


def sync_by_ping(ws: ClientConnection) -> None:
    assert ws.ping().wait(IO_TIMEOUT), "no pong: control frames must pass"


def settle(ws: ClientConnection, peer: WsEchoPeer, server_messages: int) -> None:
    """Wait until ``peer`` echoed ``server_messages`` in total, then sync by ping."""
    assert peer.wait_echoed(server_messages), (
        f"server echoed {peer.echoed} of {server_messages} messages"
    )
    sync_by_ping(ws)


def drain(ws: ClientConnection) -> list[str]:
    """Every message already received (call after :func:`sync_by_ping`)."""
    out: list[str] = []
    while True:
        try:
            message = ws.recv(timeout=0)
        except TimeoutError:
            return out
        assert isinstance(message, str)
        out.append(message)


def message_rtt(ws: ClientConnection, text: str = "rtt") -> float:
    start = time.monotonic()
    ws.send(text)
    assert ws.recv(timeout=IO_TIMEOUT) == text
    return time.monotonic() - start


def ping_rtt(ws: ClientConnection) -> float:
    start = time.monotonic()
    sync_by_ping(ws)
    return time.monotonic() - start


# --- X01 ----------------------------------------------------------------------------------


@pytest.mark.real_only
def test_x01_real_server_rejects_extension_types(make_proxy: ProxyFactory, api: Api) -> None:
    proxy = make_proxy("127.0.0.1:9")
    response = api("POST", f"/proxies/{proxy.name}/toxics", {"type": "x-ws-drop"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid toxic type"


# --- X02-X06: WebSocket toxics ---------------------------------------------------------------


@embedded
@dataplane
def test_x02_ws_drop_every_second_message(
    make_proxy: ProxyFactory, client: ToxiproxyClient, ws_echo: WsEchoPeer
) -> None:
    proxy = make_proxy(ws_echo.address)
    client.add_toxic(proxy, WsDrop(every=2))
    with ws_client(client, proxy) as ws:
        for i in range(1, 11):
            ws.send(str(i))
        settle(ws, ws_echo, 10)
        assert drain(ws) == ["1", "3", "5", "7", "9"]
        assert message_rtt(ws, "11") < IO_TIMEOUT  # the 11th passes: still frame-aligned


def _seeded_drop_run(seed: int, ws_echo: WsEchoPeer) -> list[str]:
    from wsquake.faults.proxy import EmbeddedToxiproxy

    with EmbeddedToxiproxy(host="127.0.0.1", port=0, seed=seed).in_thread() as server:
        client = ToxiproxyClient(server.url)
        proxy = client.create_proxy("ct-x02-seeded", ws_echo.address)
        client.add_toxic(proxy, WsDrop(probability=0.5))
        with ws_client(client, proxy) as ws:
            already = ws_echo.echoed
            for i in range(60):
                ws.send(str(i))
            settle(ws, ws_echo, already + 60)
            return drain(ws)


@embedded
@dataplane
def test_x02_ws_drop_probability_is_reproducible_with_a_seed(ws_echo: WsEchoPeer) -> None:
    # n = 60, p = 0.5: mean 30, sigma 3.9; [12, 48] is +-4.6 sigma.
    first = _seeded_drop_run(1234, ws_echo)
    second = _seeded_drop_run(1234, ws_echo)
    dropped = 60 - len(first)
    assert 12 <= dropped <= 48, f"{dropped} of 60 dropped"
    assert first == sorted(first, key=int), "kept messages out of order"
    assert first == second, "same seed, different drop sequence"


AUDIO = [
    {"type": "audio_chunk", "n": 1},
    {"type": "display_event", "n": 2},
    {"type": "audio_stop", "n": 3},
    {"type": "glasses_connection_state", "n": 4},
]


@embedded
@dataplane
@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_x03_ws_drop_type_drops_matching_json_messages_only(
    stream: str, make_proxy: ProxyFactory, client: ToxiproxyClient, ws_echo: WsEchoPeer
) -> None:
    proxy = make_proxy(ws_echo.address)
    client.add_toxic(proxy, WsDropType("audio_.*", stream=stream))
    with ws_client(client, proxy) as ws:
        for message in AUDIO:
            ws.send(json.dumps(message))
        settle(ws, ws_echo, 2 if stream == "upstream" else 4)
        received = [json.loads(m)["n"] for m in drain(ws)]
    assert received == [2, 4]
    server_saw = [json.loads(m)["n"] for m in ws_echo.received]
    assert server_saw == ([2, 4] if stream == "upstream" else [1, 2, 3, 4])


@embedded
@dataplane
def test_x04_ws_delay_delays_messages_in_order_but_not_pings(
    make_proxy: ProxyFactory, client: ToxiproxyClient, ws_echo: WsEchoPeer
) -> None:
    proxy = make_proxy(ws_echo.address)
    with ws_client(client, proxy) as ws:
        base = statistics.median(message_rtt(ws) for _ in range(3))
        ping_base = statistics.median(ping_rtt(ws) for _ in range(3))
        client.add_toxic(proxy, WsDelay(latency=200))
        assert_delay(message_rtt(ws) - base, 0.200, "message")
        assert ping_rtt(ws) - ping_base < 0.100, "pings must not be delayed"
        start = time.monotonic()
        for i in range(5):
            ws.send(f"m{i}")
        received = [ws.recv(timeout=IO_TIMEOUT) for _ in range(5)]
        assert received == [f"m{i}" for i in range(5)]
        assert_delay(time.monotonic() - start - base, 0.200, "burst")


@embedded
@dataplane
def test_x05_ws_close_after_three_messages_sends_the_close_frame(
    make_proxy: ProxyFactory, client: ToxiproxyClient, ws_echo: WsEchoPeer
) -> None:
    proxy = make_proxy(ws_echo.address)
    client.add_toxic(proxy, WsClose(code=4001, reason="chaos", after_messages=3))
    with ws_client(client, proxy) as ws:
        for i in range(5):
            ws.send(f"m{i}")
        assert [ws.recv(timeout=IO_TIMEOUT) for _ in range(3)] == ["m0", "m1", "m2"]
        third_at = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=IO_TIMEOUT)
        tcp_closed = time.monotonic() - third_at
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4001, "chaos")
    assert tcp_closed <= 1.5 * 1.0 + 0.150, f"TCP closed after {tcp_closed:.2f} s"


@embedded
@dataplane
def test_x05_ws_close_code_zero_cuts_tcp_without_a_close_frame(
    make_proxy: ProxyFactory, client: ToxiproxyClient, ws_echo: WsEchoPeer
) -> None:
    proxy = make_proxy(ws_echo.address)
    with ws_client(client, proxy) as ws:
        message_rtt(ws)
        client.add_toxic(proxy, WsClose(code=0))
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=IO_TIMEOUT)
    assert closed.value.rcvd is None  # no close frame: the client reports 1006


@embedded
@dataplane
def test_x06_ws_drop_added_mid_session_stays_frame_aligned(
    make_proxy: ProxyFactory, client: ToxiproxyClient, ws_echo: WsEchoPeer
) -> None:
    proxy = make_proxy(ws_echo.address)
    with ws_client(client, proxy) as ws:
        ws.send(["frag-", "ment", "ed"])  # one message in three frames (client -> server)
        settle(ws, ws_echo, 1)
        assert drain(ws) == ["frag-mented"]
        client.add_toxic(proxy, WsDrop(every=2, stream="upstream"))
        for i in range(1, 5):
            ws.send(f"m{i}")
        settle(ws, ws_echo, 3)
        assert drain(ws) == ["m1", "m3"]
        assert ws_echo.received == ["frag-mented", "m1", "m3"]
        assert message_rtt(ws, "m5") < IO_TIMEOUT


# --- X07: what extensions must leave alone --------------------------------------------------


@embedded
@dataplane
def test_x07_compressed_messages_never_match_ws_drop_type(
    make_proxy: ProxyFactory, client: ToxiproxyClient
) -> None:
    with WsEchoPeer(compression="deflate") as peer:
        proxy = make_proxy(peer.address)
        client.add_toxic(proxy, WsDropType("audio_.*"))
        with ws_client(client, proxy, compression="deflate") as ws:
            text = json.dumps({"type": "audio_chunk", "pad": "x" * 200})
            assert message_rtt(ws, text) < IO_TIMEOUT


@embedded
@dataplane
def test_x07_plain_http_passes_ws_toxics_byte_identical(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, WsDrop(stream="upstream", name="up"))
    client.add_toxic(proxy, WsDrop(stream="downstream", name="down"))
    # No Upgrade header: the body bytes would parse as a text frame if framing were on.
    request = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n\x81\x05hello"
    with connect(client.connect_address(proxy)) as sock:
        sock.sendall(request)
        assert recv_exactly(sock, len(request)) == request


@embedded
@dataplane
def test_x07_drop_chunk_probability_one_delivers_nothing_but_stays_open(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, DropChunk(probability=1.0))
    with connect(client.connect_address(proxy)) as sock:
        sock.sendall(b"hello")
        assert echo_peer.wait_conn().wait_echoed(5)
        ending = read_until_close(sock, timeout=0.5)
    assert ending.how == "timeout"
    assert ending.data == b""


@embedded
@dataplane
def test_x07_drop_chunk_probability_zero_delivers_everything(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, DropChunk(probability=0.0))
    with connect(client.connect_address(proxy)) as sock:
        for i in range(20):
            sock.sendall(b"%03d" % i)
            assert recv_exactly(sock, 3) == b"%03d" % i


# --- X08: validation ------------------------------------------------------------------------


@embedded
@pytest.mark.parametrize(
    ("toxic_type", "attributes"),
    [
        ("x-ws-drop", {"bogus": 1}),
        ("x-ws-drop", {"probability": 1.5}),
        ("x-ws-close", {"code": 1006}),
        ("bandwidth", {"rate": -1}),
        ("slicer", {"average_size": 0}),
        ("slicer", {"average_size": 10, "size_variation": 10}),
    ],
    ids=["unknown-key", "probability", "close-code", "negative-rate", "slicer-avg-0",
         "slicer-variation"],
)
def test_x08_invalid_attributes_are_400(
    toxic_type: str, attributes: dict[str, object], make_proxy: ProxyFactory, api: Api
) -> None:
    proxy = make_proxy("127.0.0.1:9")
    body = {"type": toxic_type, "attributes": attributes}
    response = api("POST", f"/proxies/{proxy.name}/toxics", body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("bad request body")


# --- X09: copied quirks kept out of the shared suite ----------------------------------------


@embedded
@dataplane
def test_x09_bandwidth_rate_zero_stalls_and_removal_delivers_everything(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    toxic = client.add_toxic(proxy, Bandwidth(0))
    with connect(client.connect_address(proxy)) as sock:
        sock.sendall(b"stalled")
        assert echo_peer.wait_conn().wait_echoed(7)
        held = read_until_close(sock, timeout=0.3)
        assert (held.how, held.data) == ("timeout", b"")
        client.remove_toxic(proxy, toxic.name)
        assert recv_exactly(sock, 7) == b"stalled"


@embedded
@dataplane
def test_x09_half_close_is_not_propagated_and_the_late_reply_is_lost(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    peer = peers(reply_on_eof(b"late reply"))
    proxy = make_proxy(peer.address)
    with connect(client.connect_address(proxy)) as sock:
        sock.sendall(b"request")
        sock.shutdown(socket.SHUT_WR)
        ending = read_until_close(sock)
    assert ending.how in ("eof", "reset")
    assert b"late reply" not in ending.data


@embedded
@dataplane
def test_x09_reset_peer_added_to_an_open_connection_ends_with_fin(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    with connect(client.connect_address(proxy)) as sock:
        sock.sendall(b"x")
        assert recv_exactly(sock, 1) == b"x"
        client.add_toxic(proxy, ResetPeer(100, stream="upstream"))
        sock.sendall(b"y")
        ending = read_until_close(sock)
    assert ending.how == "eof", "not armed at connection start: FIN, not RST"


@embedded
def test_x09_populate_empty_array_returns_null_proxies(api: Api) -> None:
    response = api("POST", "/populate", [])
    assert response.status_code == 201
    assert response.json() == {"proxies": None}


# --- X10: connection list -------------------------------------------------------------------


@pytest.fixture
def open_conn(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> Iterator[ProxyInfo]:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, Latency(0, name="lag"))
    with connect(client.connect_address(proxy)) as sock:
        sock.sendall(b"x")
        assert recv_exactly(sock, 1) == b"x"
        yield proxy


@embedded
@dataplane
def test_x10_connection_list_shows_the_live_connection_and_its_draws(
    open_conn: ProxyInfo, api: Api
) -> None:
    path = f"/x/proxies/{open_conn.name}/connections"
    seen: list[object] = []

    def listed() -> bool:
        seen[:] = api("GET", path).json()
        return len(seen) == 1

    assert poll_until(listed, timeout=1.0), seen
    (conn,) = seen
    assert isinstance(conn, dict)
    assert {"client", "upstream", "age_ms", "toxics"} <= set(conn)
    assert conn["age_ms"] >= 0
    assert conn["toxics"]["downstream"] == [{"name": "lag", "active": True}]
    assert conn["toxics"]["upstream"] == []

