"""Shared data-plane cases D01-D15 (spec/TOXIPROXY.md §5.1), through real loopback sockets.

Timing follows the §5 tolerances: effect = measured - baseline (median of 3 untoxic round
trips), ``expected - 10 ms <= effect <= 1.5 x expected + 150 ms``; throughput
``0.9 x expected <= elapsed <= 1.5 x expected + 200 ms``.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from collections.abc import Callable

import pytest

from tests.toxiproxy_conformance.conftest import ProxyFactory
from tests.toxiproxy_conformance.peers import (
    MS,
    TcpPeer,
    assert_delay,
    baseline,
    connect,
    is_open,
    read_until_close,
    recv_exactly,
    round_trip,
    sink,
    source,
)
from wsquake.faults.client import (
    Bandwidth,
    Latency,
    LimitData,
    Noop,
    ResetPeer,
    Slicer,
    SlowClose,
    Timeout,
    ToxiproxyClient,
)

pytestmark = [pytest.mark.dataplane, pytest.mark.timeout(30)]

Peers = Callable[..., TcpPeer]
CLOSE_WITHIN = 1.0  # "closed <= 1 s" cases


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def assert_refused(address: tuple[str, int]) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5).close()


# --- D01-D04: plain proxying and proxy state ---------------------------------------------


def test_d01_one_mebibyte_each_way_is_byte_identical(
    make_proxy: ProxyFactory, echo_peer: TcpPeer
) -> None:
    payload = os.urandom(1 << 20)
    proxy = make_proxy(echo_peer.address)
    with connect(make_proxy.address(proxy)) as sock:
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        try:
            received = recv_exactly(sock, len(payload))
        finally:
            sender.join(5)
    assert received == payload
    assert bytes(echo_peer.wait_conn().data) == payload


def test_d02_disable_closes_live_connections_and_refuses_new_ones(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    address = make_proxy.address(proxy)
    with connect(address) as sock:
        round_trip(sock)
        client.update_proxy(proxy, enabled=False)
        ending = read_until_close(sock, timeout=CLOSE_WITHIN)
    assert ending.how in ("eof", "reset")
    assert_refused(address)


def test_d02_enable_rebinds_the_same_port_and_keeps_toxics(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, Noop())
    client.update_proxy(proxy, enabled=False)
    again = client.update_proxy(proxy, enabled=True)
    assert again.listen == proxy.listen
    assert [t.name for t in again.toxics] == ["noop_downstream"]
    with connect(make_proxy.address(again)) as sock:
        round_trip(sock)


def test_d03_delete_closes_live_connections_and_refuses_new_ones(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    address = make_proxy.address(proxy)
    with connect(address) as sock:
        round_trip(sock)
        client.delete_proxy(proxy)
        ending = read_until_close(sock, timeout=CLOSE_WITHIN)
    assert ending.how in ("eof", "reset")
    assert_refused(address)


def test_d03_closed_upstream_address_accepts_then_closes_without_data(
    make_proxy: ProxyFactory,
) -> None:
    proxy = make_proxy(f"127.0.0.1:{free_port()}")
    with connect(make_proxy.address(proxy)) as sock:
        ending = read_until_close(sock, timeout=CLOSE_WITHIN)
    assert ending.how in ("eof", "reset")
    assert ending.data == b""


def test_d04_patch_upstream_closes_live_connections_and_new_ones_reach_the_new_target(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    first = peers(source(0, then_close=False, payload=b"A"))
    second = peers(source(0, then_close=False, payload=b"B"))
    proxy = make_proxy(first.address)
    address = make_proxy.address(proxy)
    with connect(address) as sock:
        assert recv_exactly(sock, 1) == b"A"
        client.update_proxy(proxy, upstream=second.address)
        ending = read_until_close(sock, timeout=CLOSE_WITHIN)
    assert ending.how in ("eof", "reset")
    with connect(address) as sock:
        assert recv_exactly(sock, 1) == b"B"


def test_d04_patch_listen_to_port_zero_moves_to_a_new_port(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    old = make_proxy.address(proxy)
    moved = client.update_proxy(proxy, listen="127.0.0.1:0")
    new = make_proxy.address(moved)
    assert new[1] not in (0, old[1])
    with connect(new) as sock:
        round_trip(sock)
    assert_refused(old)


# --- D05-D07: latency -------------------------------------------------------------------


def latency_effect(client: ToxiproxyClient, make_proxy: ProxyFactory, peer: TcpPeer,
                   *specs: Latency) -> float:
    proxy = make_proxy(peer.address)
    with connect(make_proxy.address(proxy)) as sock:
        base = baseline(sock)
        for spec in specs:
            client.add_toxic(proxy, spec)
        return round_trip(sock) - base


def test_d05_downstream_latency_delays_the_round_trip(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    effect = latency_effect(client, make_proxy, echo_peer, Latency(200))
    assert_delay(effect, 0.200)


def test_d05_upstream_and_downstream_latencies_add_up(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    effect = latency_effect(
        client, make_proxy, echo_peer, Latency(100, stream="upstream"), Latency(100)
    )
    assert_delay(effect, 0.200)


def test_d05_stacked_latencies_on_one_stream_add_up(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    effect = latency_effect(
        client, make_proxy, echo_peer, Latency(150, name="a"), Latency(150, name="b")
    )
    assert_delay(effect, 0.300)


def test_d06_jitter_spreads_delays_within_latency_plus_minus_jitter(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    with connect(make_proxy.address(proxy)) as sock:
        base = baseline(sock)
        client.add_toxic(proxy, Latency(100, jitter=50))
        effects = [round_trip(sock) - base for _ in range(20)]
    low, high = 0.050 - 10 * MS, 1.5 * 0.150 + 150 * MS
    assert all(low <= e <= high for e in effects), [round(e * 1000) for e in effects]
    assert max(effects) - min(effects) >= 0.020, [round(e * 1000) for e in effects]


def test_d07_latency_pipelines_messages(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, Latency(300))
    with connect(make_proxy.address(proxy)) as sock:
        first_send = time.monotonic()
        for i in range(10):
            sock.sendall(b"%04d" % i)
            time.sleep(0.020)  # pacing the sender, not synchronisation
        data = recv_exactly(sock, 40)
        last = time.monotonic() - first_send
    assert data == b"".join(b"%04d" % i for i in range(10))
    assert last <= 0.900, f"last message after {last * 1000:.0f} ms (serialised would be 3 s)"


# --- D08-D14: the other built-in toxics ----------------------------------------------------


def test_d08_bandwidth_limits_upstream_throughput(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    sink_peer = peers(sink)
    proxy = make_proxy(sink_peer.address)
    client.add_toxic(proxy, Bandwidth(100, stream="upstream"))
    with connect(make_proxy.address(proxy)) as sock:
        start = time.monotonic()
        sock.sendall(os.urandom(100_000))
        conn = sink_peer.wait_conn()
        assert conn.wait_bytes(100_000, timeout=5)
    elapsed = conn.chunks[-1][0] - start
    assert 0.9 <= elapsed <= 1.5 + 0.2, f"elapsed {elapsed:.3f} s, expected about 1.0 s"


def test_d09_slow_close_postpones_the_close_after_the_data(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    peer = peers(source(100, then_close=True))
    proxy = make_proxy(peer.address)
    client.add_toxic(proxy, SlowClose(300))
    with connect(make_proxy.address(proxy)) as sock:
        recv_exactly(sock, 100)
        data_at = time.monotonic()
        ending = read_until_close(sock)
    assert ending.how == "eof"
    assert_delay(ending.at - data_at, 0.300, "EOF after data")


def test_d10_timeout_drops_data_and_closes_after_the_timeout(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    sink_peer = peers(sink)
    proxy = make_proxy(sink_peer.address)
    client.add_toxic(proxy, Timeout(300, stream="upstream"))
    with connect(make_proxy.address(proxy)) as sock:
        sock.sendall(b"x")
        sent_at = time.monotonic()
        ending = read_until_close(sock)
    assert ending.how == "eof"
    assert_delay(ending.at - sent_at, 0.300, "EOF after the send")
    conn = sink_peer.wait_conn()
    assert conn.done.wait(5)
    assert bytes(conn.data) == b""


def test_d10_timeout_is_rearmed_by_each_chunk(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    sink_peer = peers(sink)
    proxy = make_proxy(sink_peer.address)
    client.add_toxic(proxy, Timeout(300, stream="upstream"))
    with connect(make_proxy.address(proxy)) as sock:
        for _ in range(10):  # one send every 100 ms for 1 s
            sock.sendall(b"x")
            time.sleep(0.100)  # pacing the sender, not synchronisation
            assert is_open(sock), "closed while traffic kept re-arming the timeout"
        sock.sendall(b"x")
        last_send = time.monotonic()
        ending = read_until_close(sock)
    assert ending.how == "eof"
    assert_delay(ending.at - last_send, 0.300, "EOF after the last send")
    assert bytes(sink_peer.wait_conn().data) == b""


def test_d11_timeout_zero_holds_then_removal_closes_both_ends(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    toxic = client.add_toxic(proxy, Timeout(0))
    with connect(make_proxy.address(proxy)) as sock:
        sock.sendall(b"hello")
        held = read_until_close(sock, timeout=1.0)
        assert held.how == "timeout", "a timeout-0 toxic must keep the connection open"
        assert held.data == b""
        removed_at = time.monotonic()
        client.remove_toxic(proxy, toxic.name)
        ending = read_until_close(sock, timeout=CLOSE_WITHIN)
    assert ending.how in ("eof", "reset")
    assert ending.data == b""
    conn = echo_peer.wait_conn()
    assert conn.done.wait(CLOSE_WITHIN)
    assert conn.eof_at is not None and conn.eof_at - removed_at <= CLOSE_WITHIN


def test_d12_reset_peer_resets_after_the_timeout(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, ResetPeer(200, stream="upstream"))
    with connect(make_proxy.address(proxy)) as sock:
        sock.sendall(b"x")
        sent_at = time.monotonic()
        ending = read_until_close(sock)
    assert ending.how == "reset", f"expected ConnectionResetError, got {ending.how}"
    assert_delay(ending.at - sent_at, 0.200, "reset after the send")


def test_d13_limit_data_forwards_exactly_the_limit_then_closes(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    peer = peers(source(10_000, then_close=False))
    proxy = make_proxy(peer.address)
    client.add_toxic(proxy, LimitData(1000))
    with connect(make_proxy.address(proxy)) as sock:
        ending = read_until_close(sock)
    assert ending.how == "eof"
    assert ending.data == peer.handler.payload[:1000]  # type: ignore[attr-defined]


def test_d14_slicer_splits_a_chunk_into_paced_pieces(
    make_proxy: ProxyFactory, client: ToxiproxyClient, peers: Peers
) -> None:
    peer = peers(source(2000, then_close=False))
    proxy = make_proxy(peer.address)
    client.add_toxic(proxy, Slicer(100, 20, 10_000))
    data = bytearray()
    reads = 0
    with connect(make_proxy.address(proxy)) as sock:
        start = time.monotonic()
        while len(data) < 2000:
            chunk = sock.recv(65536)
            assert chunk, f"EOF after {len(data)} bytes"
            data += chunk
            reads += 1
        elapsed = time.monotonic() - start
    assert bytes(data) == peer.handler.payload  # type: ignore[attr-defined]
    assert reads >= 5
    assert elapsed >= 0.100


# --- D15: toxicity ------------------------------------------------------------------------


def test_d15_toxicity_zero_never_applies(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    effect = latency_effect(client, make_proxy, echo_peer, Latency(500, toxicity=0.0))
    assert effect < 0.250, f"round trip +{effect * 1000:.0f} ms with toxicity 0"


def test_d15_toxicity_half_delays_about_half_of_the_connections(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    # n = 40, p = 0.5: mean 20, sigma 3.16; [8, 32] is +-3.8 sigma.
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, Latency(300, toxicity=0.5))
    address = make_proxy.address(proxy)
    socks = [connect(address) for _ in range(40)]
    arrival: dict[socket.socket, float] = {}
    try:
        with selectors.DefaultSelector() as selector:
            for sock in socks:
                selector.register(sock, selectors.EVENT_READ)
            start = time.monotonic()
            for sock in socks:
                sock.sendall(b"x")
            deadline = start + 5
            while len(arrival) < len(socks) and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=deadline - time.monotonic()):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    assert sock.recv(1) == b"x"
                    arrival[sock] = time.monotonic() - start
                    selector.unregister(sock)
    finally:
        for sock in socks:
            sock.close()
    assert len(arrival) == 40
    delayed = sum(1 for t in arrival.values() if t >= 0.150)
    assert 8 <= delayed <= 32, f"{delayed} of 40 delayed: {sorted(arrival.values())}"
