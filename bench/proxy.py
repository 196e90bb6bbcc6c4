"""Benchmark the embedded Toxiproxy-compatible proxy against direct loopback.

    .venv/bin/python bench/proxy.py [--quick] [--connections N] [--round-trips N] [--mib N]

Layout (multiprocessing, so the proxy's event loop has its own GIL):
- a *peers* process serves an echo port and a sink port (the sink reads an 8-byte length,
  then that many bytes, then answers ``k``);
- the main process runs the proxy (``EmbeddedToxiproxy.in_thread()``) with three
  proxies: ``echo`` and ``sink`` with no toxics, ``echo-noop`` with a ``noop`` toxic each
  way (the pump's per-chunk path);
- a *client* process measures with blocking sockets (TCP_NODELAY):
  1. round-trip latency of 64-byte messages, direct vs through each proxy (p50, p99);
  2. one-connection bulk upload throughput to the sink, MB/s, direct vs proxied;
  3. idle connections held through the proxy: opened one by one, then every 500th does
     a round trip and the proxy's ``/x/proxies/echo/connections`` count is checked.

RLIMIT_NOFILE is raised to the hard limit in every process. Each proxied connection
costs the proxy process 2 fds, so with a 20,000-fd limit it can hold just under 10,000.
Targets: added p50 < 200 µs, throughput >= 30 % of direct, 10,000 idle connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import resource
import socket
import statistics
import struct
import sys
import time
import urllib.request
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MESSAGE = b"m" * 64
CHUNK = 64 * 1024
FD_RESERVE = 64  # fds the proxy process needs besides connections


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- peers process ----------------------------------------------------------------------


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        (total,) = struct.unpack("!Q", await reader.readexactly(8))
        while total > 0:
            data = await reader.read(1 << 20)
            if not data:
                return
            total -= len(data)
        writer.write(b"k")
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def peers_main(pipe: Connection) -> None:
    raise_fd_limit()

    async def main() -> None:
        echo = await asyncio.start_server(_echo, "127.0.0.1", 0, backlog=4096)
        sink = await asyncio.start_server(_sink, "127.0.0.1", 0, backlog=4096)
        pipe.send((echo.sockets[0].getsockname()[1], sink.sockets[0].getsockname()[1]))
        done = asyncio.Event()
        asyncio.get_running_loop().add_reader(pipe.fileno(), done.set)
        await done.wait()
        echo.close()
        sink.close()

    asyncio.run(main())


# -- client process ---------------------------------------------------------------------


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        data = sock.recv(n - got)
        if not data:
            raise ConnectionError("peer closed during a round trip")
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def measure_rtt(ports: dict[str, int], count: int, rounds: int = 5) -> dict[str, dict]:
    """Round trips on one connection per target, interleaved in ``rounds`` batches."""
    socks = {name: _connect(port) for name, port in ports.items()}
    samples: dict[str, list[float]] = {name: [] for name in ports}
    try:
        for sock in socks.values():
            for _ in range(300):  # warm-up
                sock.sendall(MESSAGE)
                _recv_exactly(sock, len(MESSAGE))
        for _ in range(rounds):
            for name, sock in socks.items():
                for _ in range(count // rounds):
                    start = time.perf_counter()
                    sock.sendall(MESSAGE)
                    _recv_exactly(sock, len(MESSAGE))
                    samples[name].append(time.perf_counter() - start)
    finally:
        for sock in socks.values():
            sock.close()
    out = {}
    for name, values in samples.items():
        values.sort()
        out[name] = {
            "p50_us": statistics.median(values) * 1e6,
            "p99_us": values[int(len(values) * 0.99) - 1] * 1e6,
        }
    return out


def measure_throughput(port: int, total: int) -> float:
    block = b"\xab" * CHUNK
    with _connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(struct.pack("!Q", total))
        sent = 0
        while sent < total:
            sock.sendall(block)
            sent += len(block)
        if _recv_exactly(sock, 1) != b"k":
            raise RuntimeError("sink did not acknowledge")
        elapsed = time.perf_counter() - start
    return total / elapsed / 1e6


def hold_connections(api: str, port: int, target: int) -> dict[str, Any]:
    socks: list[socket.socket] = []
    start = time.perf_counter()
    error = ""
    try:
        for _ in range(target):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    opened = time.perf_counter() - start
    alive = 0
    try:
        for sock in socks[::500]:
            sock.sendall(b"ok")
            alive += _recv_exactly(sock, 2) == b"ok"
        with urllib.request.urlopen(f"{api}/x/proxies/echo/connections", timeout=30) as resp:
            listed = len(json.load(resp))
    finally:
        for sock in socks:
            sock.close()
    return {
        "held": len(socks),
        "listed_by_proxy": listed,
        "sampled_alive": f"{alive}/{len(socks[::500])}",
        "open_seconds": opened,
        "error": error,
    }


def client_main(pipe: Connection, plan: dict[str, Any]) -> None:
    raise_fd_limit()
    try:
        ports = plan["ports"]
        result: dict[str, Any] = {"rtt": {}, "throughput": {}}
        names = ("direct", "proxy", "proxy+noop")
        result["rtt"] = measure_rtt({n: ports[n] for n in names}, plan["round_trips"])
        total = plan["mib"] << 20
        runs: dict[str, list[float]] = {"direct": [], "proxy": [], "proxy+noop": []}
        for _ in range(3):  # interleaved, median of 3: the machine is shared and noisy
            for name in runs:
                runs[name].append(measure_throughput(ports["sink:" + name], total))
        result["throughput"] = {name: statistics.median(v) for name, v in runs.items()}
        result["hold"] = hold_connections(plan["api"], ports["proxy"], plan["connections"])
        pipe.send(result)
    except BaseException as exc:  # report, then let the parent print it
        pipe.send({"error": repr(exc)})
        raise


# -- main -----------------------------------------------------------------------------


def _api(url: str, method: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)


def _port(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


def render(result: dict[str, Any], plan: dict[str, Any], proxy_fd_limit: int) -> None:
    rtt, thr, hold = result["rtt"], result["throughput"], result["hold"]
    rows = []
    d50, d99 = rtt["direct"]["p50_us"], rtt["direct"]["p99_us"]
    for name in ("proxy", "proxy+noop"):
        p50, p99 = rtt[name]["p50_us"], rtt[name]["p99_us"]
        rows.append((f"RTT 64 B p50 ({name})", f"{d50:.0f} µs", f"{p50:.0f} µs",
                     f"+{p50 - d50:.0f} µs", "added < 200 µs" if name == "proxy" else ""))
        rows.append((f"RTT 64 B p99 ({name})", f"{d99:.0f} µs", f"{p99:.0f} µs",
                     f"+{p99 - d99:.0f} µs", ""))
    for name in ("proxy", "proxy+noop"):
        ratio = thr[name] / thr["direct"] * 100
        rows.append((f"1-conn upload {plan['mib']} MiB ({name})", f"{thr['direct']:.0f} MB/s",
                     f"{thr[name]:.0f} MB/s", f"{ratio:.0f} %",
                     ">= 30 %" if name == "proxy" else ""))
    cap = (proxy_fd_limit - FD_RESERVE) // 2
    rows.append(("idle connections held", "-", f"{hold['held']}",
                 f"listed {hold['listed_by_proxy']}, alive {hold['sampled_alive']}",
                 f"10,000 (fd cap {cap})"))
    rows.append(("time to open them", "-", f"{hold['open_seconds']:.1f} s", "", ""))
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("proxy process peak RSS", "-", f"{rss_mib:.0f} MiB", "", ""))
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="wsquake embedded proxy vs direct loopback")
        for column in ("measure", "direct", "via proxy", "difference", "target"):
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        Console(width=120).print(table)
    except ImportError:  # pragma: no cover - rich is a dependency
        for row in rows:
            print(" | ".join(row))
    if hold["error"]:
        print(f"connection ramp stopped: {hold['error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (CI smoke)")
    parser.add_argument("--connections", type=int, default=None, help="idle connections target")
    parser.add_argument("--round-trips", type=int, default=None)
    parser.add_argument("--mib", type=int, default=None, help="MiB uploaded per throughput run")
    args = parser.parse_args(argv)
    limit = raise_fd_limit()
    cap = (limit - FD_RESERVE) // 2
    plan: dict[str, Any] = {
        "round_trips": args.round_trips or (500 if args.quick else 5000),
        "mib": args.mib or (16 if args.quick else 128),
        "connections": min(args.connections or (1000 if args.quick else 10_000), cap),
    }
    from wsquake.faults.proxy import EmbeddedToxiproxy

    ctx = mp.get_context("spawn")
    peers_pipe, peers_child = ctx.Pipe()
    peers = ctx.Process(target=peers_main, args=(peers_child,), daemon=True)
    peers.start()
    try:
        echo_port, sink_port = peers_pipe.recv()
        with EmbeddedToxiproxy(port=0, metrics=False).in_thread() as server:
            url = server.url
            proxies = {}
            for name, port in (("echo", echo_port), ("sink", sink_port),
                               ("echo-noop", echo_port), ("sink-noop", sink_port)):
                created = _api(url, "POST", "/proxies", {
                    "name": name, "upstream": f"127.0.0.1:{port}", "listen": "127.0.0.1:0"})
                proxies[name] = _port(created["listen"])
            for name in ("echo-noop", "sink-noop"):
                for stream in ("upstream", "downstream"):
                    _api(url, "POST", f"/proxies/{name}/toxics",
                         {"type": "noop", "stream": stream})
            plan["api"] = url
            plan["ports"] = {
                "direct": echo_port, "proxy": proxies["echo"], "proxy+noop": proxies["echo-noop"],
                "sink:direct": sink_port, "sink:proxy": proxies["sink"],
                "sink:proxy+noop": proxies["sink-noop"],
            }
            client_pipe, client_child = ctx.Pipe()
            client = ctx.Process(target=client_main, args=(client_child, plan), daemon=True)
            client.start()
            result = client_pipe.recv()
            client.join(60)
        if "error" in result:
            print(f"benchmark failed: {result['error']}", file=sys.stderr)
            return 70
        render(result, plan, limit)
        return 0
    finally:
        peers_pipe.send("stop")
        peers.join(10)


if __name__ == "__main__":
    sys.exit(main())
