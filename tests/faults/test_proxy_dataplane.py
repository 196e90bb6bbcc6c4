"""End-to-end through the embedded proxy on loopback: data path, toxics, live changes.

Timing assertions only bound effects from below (load only makes things later), except
where a removal must release held data: there the toxic's delay is made huge (60 s) so
"arrived within the 5 s I/O timeout" proves the release.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time

import httpx
import pytest

from tests.faults.proxy_peers import (
    IO_TIMEOUT,
    connect,
    create_proxy,
    echo_server,
    embedded,
    manual_server,
    read_exactly,
    read_to_eof,
)

NEGATIVE_WAIT = 0.3  # how long "nothing arrives" is watched


async def add(client: httpx.AsyncClient, proxy: str, body: dict) -> None:
    response = await client.post(f"/proxies/{proxy}/toxics", json=body)
    assert response.status_code == 200, response.text


async def round_trip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    start = time.monotonic()
    writer.write(b"ping")
    assert await read_exactly(reader, 4) == b"ping"
    return time.monotonic() - start


async def nothing_arrives(reader: asyncio.StreamReader) -> bool:
    try:
        async with asyncio.timeout(NEGATIVE_WAIT):
            data = await reader.read(1)
    except TimeoutError:
        return True
    return data == b"" and False


async def test_one_mebibyte_each_way_arrives_byte_identical() -> None:
    payload = os.urandom(1 << 20)
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "e", echo.address)
        async with connect(address) as (reader, writer):
            writer.write(payload)
            assert await read_exactly(reader, len(payload)) == payload


async def test_latency_added_to_an_idle_connection_applies_and_an_update_changes_it() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "e", echo.address)
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)
            await add(client, "e", {"type": "latency", "attributes": {"latency": 200}})
            assert await round_trip(reader, writer) >= 0.19
            await client.patch(
                "/proxies/e/toxics/latency_downstream", json={"attributes": {"latency": 400}}
            )
            assert await round_trip(reader, writer) >= 0.39


async def test_removing_latency_releases_queued_messages_in_order_at_once() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "e", echo.address)
        async with connect(address) as (reader, writer):
            await add(client, "e", {"type": "latency", "attributes": {"latency": 60_000}})
            messages = b"".join(b"%04d" % i for i in range(50))
            for i in range(50):
                writer.write(b"%04d" % i)
                await writer.drain()
            assert await nothing_arrives(reader)
            await client.delete("/proxies/e/toxics/latency_downstream")
            assert await read_exactly(reader, len(messages)) == messages


async def test_bandwidth_rate_zero_stalls_without_loss_until_removed() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "e", echo.address)
        await add(client, "e", {"type": "bandwidth", "stream": "upstream"})
        async with connect(address) as (reader, writer):
            writer.write(b"held bytes")
            assert await nothing_arrives(reader)
            await client.delete("/proxies/e/toxics/bandwidth_upstream")
            assert await read_exactly(reader, 10) == b"held bytes"


async def test_timeout_zero_holds_the_connection_open_and_its_removal_closes_it() -> None:
    async with manual_server() as peer, embedded() as (_, client):
        address = await create_proxy(client, "t", peer.address)
        await add(client, "t", {"type": "timeout", "stream": "upstream"})
        async with connect(address) as (reader, writer):
            server_reader, _ = await asyncio.wait_for(peer.accepted.get(), IO_TIMEOUT)
            writer.write(b"lost")
            assert await nothing_arrives(server_reader)
            await client.delete("/proxies/t/toxics/timeout_upstream")
            assert await read_to_eof(reader) == b""
            assert await read_to_eof(server_reader) == b""


async def test_timeout_closes_an_idle_connection_after_its_delay() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "t", echo.address)
        await add(client, "t", {"type": "timeout", "attributes": {"timeout": 100}})
        async with connect(address) as (reader, _):
            start = time.monotonic()
            assert await read_to_eof(reader) == b""
            assert time.monotonic() - start >= 0.09


async def test_reset_peer_armed_at_connection_start_resets_the_client() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "r", echo.address)
        await add(
            client, "r", {"type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 50}}
        )
        async with connect(address) as (reader, writer):
            writer.write(b"x")
            with pytest.raises(ConnectionResetError):
                await read_to_eof(reader)


async def test_reset_peer_added_to_an_open_connection_ends_with_fin() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "r", echo.address)
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)
            await add(client, "r", {"type": "reset_peer", "stream": "upstream"})
            writer.write(b"x")
            assert await read_to_eof(reader) == b""


async def test_limit_data_forwards_exactly_its_bytes_then_closes() -> None:
    async with manual_server() as peer, embedded() as (_, client):
        address = await create_proxy(client, "l", peer.address)
        await add(client, "l", {"type": "limit_data", "attributes": {"bytes": 1000}})
        async with connect(address) as (reader, _):
            _, server_writer = await asyncio.wait_for(peer.accepted.get(), IO_TIMEOUT)
            server_writer.write(os.urandom(10_000))
            assert len(await read_to_eof(reader)) == 1000


async def test_limit_data_added_live_counts_from_the_moment_it_was_added() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "l", echo.address)
        async with connect(address) as (reader, writer):
            writer.write(b"a" * 500)
            await read_exactly(reader, 500)
            await add(client, "l", {"type": "limit_data", "attributes": {"bytes": 100}})
            writer.write(b"b" * 300)
            assert await read_to_eof(reader) == b"b" * 100


async def test_slow_close_delays_the_close_after_the_data() -> None:
    async with manual_server() as peer, embedded() as (_, client):
        address = await create_proxy(client, "s", peer.address)
        await add(client, "s", {"type": "slow_close", "attributes": {"delay": 200}})
        async with connect(address) as (reader, _):
            _, server_writer = await asyncio.wait_for(peer.accepted.get(), IO_TIMEOUT)
            server_writer.write(b"bye")
            server_writer.close()
            assert await read_exactly(reader, 3) == b"bye"
            start = time.monotonic()
            assert await read_to_eof(reader) == b""
            assert time.monotonic() - start >= 0.15


async def test_slicer_delivers_intact_data_in_several_reads() -> None:
    async with manual_server() as peer, embedded() as (_, client):
        address = await create_proxy(client, "s", peer.address)
        attributes = {"average_size": 100, "size_variation": 20, "delay": 5000}
        await add(client, "s", {"type": "slicer", "attributes": attributes})
        async with connect(address) as (reader, _):
            _, server_writer = await asyncio.wait_for(peer.accepted.get(), IO_TIMEOUT)
            data = os.urandom(2000)
            server_writer.write(data)
            reads: list[bytes] = []
            async with asyncio.timeout(IO_TIMEOUT):
                while sum(map(len, reads)) < len(data):
                    reads.append(await reader.read(65536))
            assert b"".join(reads) == data and len(reads) >= 5


async def test_disable_closes_live_connections_refuses_new_and_enable_rebinds() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "d", echo.address)
        await add(client, "d", {"type": "noop"})
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)
            await client.patch("/proxies/d", json={"enabled": False})
            try:
                assert await read_to_eof(reader) == b""
            except ConnectionResetError:
                pass
        with pytest.raises(ConnectionRefusedError):
            async with connect(address):
                pass
        enabled = await client.post("/proxies/d", json={"enabled": True})
        assert enabled.json()["listen"] == f"{address[0]}:{address[1]}"
        assert [t["name"] for t in enabled.json()["toxics"]] == ["noop_downstream"]
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)


async def test_delete_closes_live_connections() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "d", echo.address)
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)
            await client.delete("/proxies/d")
            try:
                assert await read_to_eof(reader) == b""
            except ConnectionResetError:
                pass


async def test_unreachable_upstream_accepts_then_closes_the_client() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    dead_port = free.getsockname()[1]
    free.close()
    async with embedded() as (_, client):
        address = await create_proxy(client, "u", f"127.0.0.1:{dead_port}")
        async with connect(address) as (reader, _):
            assert await read_to_eof(reader) == b""


async def test_without_half_close_a_client_shutdown_loses_the_reply() -> None:
    async with manual_server() as peer, embedded() as (_, client):
        address = await create_proxy(client, "h", peer.address)
        async with connect(address) as (reader, writer):
            server_reader, server_writer = await asyncio.wait_for(peer.accepted.get(), IO_TIMEOUT)
            writer.write(b"request")
            writer.write_eof()
            assert await read_to_eof(server_reader) == b"request"
            server_writer.write(b"reply")
            try:
                assert await read_to_eof(reader) == b""
            except ConnectionResetError:
                pass


async def test_with_half_close_a_client_shutdown_still_gets_the_reply() -> None:
    async with manual_server() as peer, embedded(half_close=True) as (_, client):
        address = await create_proxy(client, "h", peer.address)
        async with connect(address) as (reader, writer):
            server_reader, server_writer = await asyncio.wait_for(peer.accepted.get(), IO_TIMEOUT)
            writer.write(b"request")
            writer.write_eof()
            assert await read_to_eof(server_reader) == b"request"
            server_writer.write(b"reply")
            server_writer.close()
            assert await read_to_eof(reader) == b"reply"


async def draws(seed: int, connections: int = 16) -> list[bool]:
    async with echo_server() as echo, embedded(seed=seed) as (_, client):
        address = await create_proxy(client, "s", echo.address)
        await add(client, "s", {"type": "noop", "toxicity": 0.5})
        result = []
        for _ in range(connections):
            async with connect(address) as (reader, writer):
                await round_trip(reader, writer)
                [conn] = (await client.get("/x/proxies/s/connections")).json()
                result.append(conn["toxics"]["downstream"][0]["active"])
        return result


async def test_seeded_servers_draw_the_same_toxicity_sequence() -> None:
    first, again, other = await draws(1), await draws(1), await draws(2)
    assert first == again
    assert first != other
    assert 0 < sum(first) < len(first)


async def test_connection_list_shows_the_live_connection_and_its_draws() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "c", echo.address)
        await add(client, "c", {"type": "noop", "stream": "upstream", "toxicity": 0})
        await add(client, "c", {"type": "latency", "name": "lat"})
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)
            [conn] = (await client.get("/x/proxies/c/connections")).json()
            assert conn["upstream"] == echo.address
            host, port = writer.get_extra_info("sockname")[:2]
            assert conn["client"] == f"{host}:{port}"
            assert conn["toxics"] == {
                "upstream": [{"name": "noop_upstream", "active": False}],
                "downstream": [{"name": "lat", "active": True}],
            }
            assert conn["age_ms"] >= 0


async def test_a_stalled_toxic_pushes_back_into_tcp_instead_of_buffering() -> None:
    async with echo_server() as echo, embedded() as (server, client):
        address = await create_proxy(client, "b", echo.address)
        await add(client, "b", {"type": "bandwidth", "stream": "upstream"})  # rate 0: stall
        async with connect(address) as (_, writer):
            writer.write(b"x" * (16 << 20))
            with pytest.raises(TimeoutError):  # the proxy stops reading: drain cannot finish
                async with asyncio.timeout(NEGATIVE_WAIT):
                    await writer.drain()
            assert server.collection is not None
            [conn] = server.collection.get("b").live
            held = sum(len(d) for slot in conn.up.slots for _, d, _ in slot.pending)
            assert 0 < held <= 4 << 20  # a few socket reads, not the 16 MiB sent
            writer.transport.abort()


async def test_updating_a_stalled_bandwidth_toxic_releases_the_held_chunk() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "b", echo.address)
        await add(client, "b", {"type": "bandwidth", "stream": "upstream"})
        async with connect(address) as (reader, writer):
            writer.write(b"held")
            assert await nothing_arrives(reader)
            await client.patch(
                "/proxies/b/toxics/bandwidth_upstream", json={"attributes": {"rate": 1000}}
            )
            assert await read_exactly(reader, 4) == b"held"
            assert await round_trip(reader, writer) < IO_TIMEOUT


async def test_same_port_given_by_hostname_is_not_a_change_and_keeps_connections() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "n", echo.address)
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)
            response = await client.patch("/proxies/n", json={"listen": f"localhost:{address[1]}"})
            assert response.json()["listen"] == f"127.0.0.1:{address[1]}"
            await round_trip(reader, writer)  # still the same live connection


async def test_empty_listen_binds_all_interfaces_dual_stack() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        response = await client.post("/proxies", json={"name": "any", "upstream": echo.address})
        listen = response.json()["listen"]
        assert listen.startswith(("[::]:", "0.0.0.0:"))
        async with connect(("127.0.0.1", int(listen.rsplit(":", 1)[1]))) as (reader, writer):
            await round_trip(reader, writer)


async def test_stacked_latency_toxics_on_one_stream_add_up() -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "s", echo.address)
        for name in ("a", "b"):
            body = {"type": "latency", "name": name, "attributes": {"latency": 150}}
            await add(client, "s", body)
        async with connect(address) as (reader, writer):
            assert await round_trip(reader, writer) >= 0.29


class _BrokenStage:
    """A stage that raises on data: the pump must contain it to its own connection."""

    def start(self, now: float) -> list:
        return []

    def data(self, chunk: bytes, stamp: float, now: float) -> list:
        raise RuntimeError("broken stage")

    def eof(self, now: float) -> list:
        return []

    def timer(self, now: float) -> list:
        return []

    def deadline(self) -> None:
        return None

    def flush(self, now: float) -> list:
        return []


@pytest.fixture
def broken_kind() -> object:
    from wsquake.faults.toxics.registry import ToxicKind, register, unregister

    kind = ToxicKind("x-test-broken", lambda raw: {}, lambda *a, **k: _BrokenStage())
    register(kind)
    yield kind
    unregister(kind.name)


async def test_a_raising_stage_closes_only_its_connection(
    broken_kind: object, caplog: pytest.LogCaptureFixture
) -> None:
    async with echo_server() as echo, embedded() as (_, client):
        address = await create_proxy(client, "x", echo.address)
        async with connect(address) as (good_reader, good_writer):
            await round_trip(good_reader, good_writer)
            await add(client, "x", {"type": "x-test-broken", "stream": "upstream"})
            async with connect(address) as (reader, writer):
                writer.write(b"boom")
                assert await read_to_eof(reader) == b""
            await client.delete("/proxies/x/toxics/x-test-broken_upstream")
            await round_trip(good_reader, good_writer)
    assert "broken stage" in caplog.text


async def test_stop_closes_live_connections_and_is_idempotent() -> None:
    async with echo_server() as echo, embedded() as (server, client):
        address = await create_proxy(client, "s", echo.address)
        async with connect(address) as (reader, writer):
            await round_trip(reader, writer)
            await server.stop()
            try:
                assert await read_to_eof(reader) == b""
            except ConnectionResetError:
                pass
            await server.stop()
        with pytest.raises(ConnectionRefusedError):
            async with connect(address):
                pass
