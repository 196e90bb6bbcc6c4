"""Shared live-change cases L01-L04 (spec/TOXIPROXY.md §5.1): toxics changed under open links."""

from __future__ import annotations

import time

import pytest

from tests.toxiproxy_conformance.conftest import ProxyFactory
from tests.toxiproxy_conformance.peers import (
    TcpPeer,
    assert_delay,
    baseline,
    connect,
    read_until_close,
    recv_exactly,
    round_trip,
)
from wsquake.faults.client import Latency, LimitData, Timeout, ToxiproxyClient

pytestmark = [pytest.mark.dataplane, pytest.mark.timeout(30)]


def test_l01_latency_added_and_patched_on_an_idle_connection_applies_at_once(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    with connect(make_proxy.address(proxy)) as sock:
        base = baseline(sock)
        toxic = client.add_toxic(proxy, Latency(200))
        assert_delay(round_trip(sock) - base, 0.200, "after add")
        client.update_toxic(proxy, toxic.name, attributes={"latency": 400})
        assert_delay(round_trip(sock) - base, 0.400, "after PATCH")


def test_l02_removing_latency_releases_queued_messages_in_order(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    messages = [b"%07d\n" % i for i in range(50)]
    proxy = make_proxy(echo_peer.address)
    with connect(make_proxy.address(proxy)) as sock:
        round_trip(sock, b"warm")
        toxic = client.add_toxic(proxy, Latency(1000))
        for message in messages:
            sock.sendall(message)
        # All 50 have been echoed, so they now wait in the downstream latency toxic.
        assert echo_peer.wait_conn().wait_echoed(4 + 400)
        removing = time.monotonic()
        client.remove_toxic(proxy, toxic.name)
        data = recv_exactly(sock, 400)
        done = time.monotonic() - removing
    assert data == b"".join(messages)
    assert done <= 0.500, f"queued messages took {done * 1000:.0f} ms after removal"


def test_l03_limit_data_added_live_counts_from_the_add(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    with connect(make_proxy.address(proxy)) as sock:
        sock.sendall(b"a" * 500)
        assert recv_exactly(sock, 500) == b"a" * 500
        client.add_toxic(proxy, LimitData(100))
        sock.sendall(b"b" * 500)
        ending = read_until_close(sock)
    assert ending.how == "eof"
    assert ending.data == b"b" * 100


def test_l04_reset_under_latency_keeps_the_connection_and_restores_speed(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    with connect(make_proxy.address(proxy)) as sock:
        base = baseline(sock)
        client.add_toxic(proxy, Latency(300))
        assert_delay(round_trip(sock) - base, 0.300, "under latency")
        client.reset()
        effect = round_trip(sock) - base
    assert effect < 0.150, f"round trip still +{effect * 1000:.0f} ms after /reset"


def test_l04_reset_under_timeout_zero_closes_the_connection(
    make_proxy: ProxyFactory, client: ToxiproxyClient, echo_peer: TcpPeer
) -> None:
    proxy = make_proxy(echo_peer.address)
    client.add_toxic(proxy, Timeout(0))
    with connect(make_proxy.address(proxy)) as sock:
        sock.sendall(b"lost")
        echo_peer.wait_conn().wait_echoed(4)
        client.reset()
        ending = read_until_close(sock, timeout=1.0)
    assert ending.how in ("eof", "reset")
    assert ending.data == b""
