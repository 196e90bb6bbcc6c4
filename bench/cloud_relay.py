"""Benchmark the reference cloud's relay: throughput, relay latency and connections held.

    .venv/bin/python bench/cloud_relay.py [--quick] [--generators N] [--relay-users N]
        [--relay-seconds S] [--window N] [--hold-cap N] [--hold-batch N]

Layout: the cloud runs in its own process (pinned to its own core when the machine has
more than one), the load generators in others (multiprocessing). Each generator serves
the webhook of its own app package (a minimal HTTP/1.1 responder), and drives users: one
glasses socket each plus one raw app socket that answers the webhook, inits and
subscribes to ``button_press``.

Phases:
1. **relay** — ``--relay-users`` users send ``button_press`` events as fast as a window of
   ``--window`` unacknowledged events per user allows, for ``--relay-seconds``; the app
   socket of the same user receives them. Reported: events sent and received per second,
   events lost (sent - received after a drain), relay latency p50/p99 (send to receipt,
   same process clock).
2. **hold** — users (idle glasses + subscribed app socket) are added in batches until a
   connect fails or ``--hold-cap`` users are held. Reported: users and sockets held, cloud
   RSS, time to ramp.

RLIMIT_NOFILE is raised to its hard limit in every process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

SECRET = "wsquake-bench-secret-0123456789abcdef"
STREAM = "button_press"
SETUP_CONCURRENCY = 64
STEP_TIMEOUT_S = 30.0


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pin(cpus: set[int]) -> None:
    if cpus and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)


# =============================================================================== cloud


class FirstFew(logging.Filter):
    """Let the first ``keep`` records through and count the rest.

    When the ramp exhausts the cloud's file descriptors, asyncio logs every failed
    ``accept()`` with a traceback (thousands of them); a few are enough to see why.
    """

    def __init__(self, keep: int = 3) -> None:
        super().__init__()
        self.keep = keep
        self.seen = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.seen += 1
        return self.seen <= self.keep


def cloud_process(conn: Connection, apps: list[tuple[str, str]], cpus: set[int]) -> None:
    pin(cpus)
    raise_nofile()
    logging.basicConfig(level=logging.WARNING, format="cloud %(levelname)s %(name)s: %(message)s")
    noise = FirstFew()
    logging.getLogger("asyncio").addFilter(noise)
    try:
        asyncio.run(_cloud_main(conn, apps))
    finally:
        if noise.seen > noise.keep:
            print(
                f"cloud: {noise.seen - noise.keep} further asyncio log records suppressed",
                file=sys.stderr,
            )


async def _cloud_main(conn: Connection, apps: list[tuple[str, str]]) -> None:
    from wsquake.cloud import AppEntry, CloudServer, CloudSettings, Timings

    settings = CloudSettings(
        host="127.0.0.1",
        port=0,
        jwt_secret=SECRET,
        # Protocol timings, but nothing may expire during a run: no boot card (it would
        # hold displays), long start timeout for the ramp, pings at the default interval.
        timings=Timings(app_start_timeout_s=120, webhook_timeout_s=120, boot_card_ms=0),
        apps=tuple(
            AppEntry(package_name=pkg, public_url=url, api_key=f"key-{pkg}", type="background")
            for pkg, url in apps
        ),
    )
    loop = asyncio.get_running_loop()
    async with CloudServer(settings) as cloud:
        conn.send(("ready", cloud.port, os.getpid()))
        await loop.run_in_executor(None, conn.recv)  # any message: stop


# =========================================================================== generator


@dataclass
class RelayResult:
    sent: int = 0
    received: int = 0
    latencies_us: list[int] = field(default_factory=list)
    setup_s: float = 0.0
    errors: list[str] = field(default_factory=list)


class WebhookResponder:
    """A minimal HTTP/1.1 server answering every POST with 200 and recording the body."""

    def __init__(self) -> None:
        self.waiters: dict[str, asyncio.Future[str]] = {}
        self.server: asyncio.Server | None = None
        self.port = 0
        self._handlers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def aclose(self) -> None:
        """Stop listening and end every keep-alive connection (handlers exit on EOF)."""
        if self.server is not None:
            self.server.close()
        for writer in self._handlers.values():
            writer.close()
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers[task] = writer
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                self._record(body)
                payload = b'{"status":"success"}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            del self._handlers[task]
            writer.close()

    def _record(self, body: bytes) -> None:
        try:
            hook = json.loads(body)
        except json.JSONDecodeError:
            return
        if hook.get("type") != "session_request":
            return
        waiter = self.waiters.get(str(hook.get("sessionId")))
        if waiter is not None and not waiter.done():
            waiter.set_result(str(hook.get("mentraOSWebsocketUrl")))


class User:
    """One glasses socket plus its app socket, readers owned by the generator's group."""

    def __init__(self, email: str, package: str) -> None:
        self.email = email
        self.package = package
        self.session_id = f"{email}-{package}"
        self.glasses: Any = None
        self.app: Any = None
        self.subscribed = asyncio.Event()
        self.window: asyncio.Semaphore | None = None
        self.result: RelayResult | None = None

    async def read_glasses(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.glasses:
                if isinstance(raw, str) and '"app_state_change"' in raw:
                    subs = json.loads(raw)["userSession"]["appSubscriptions"]
                    if STREAM in subs.get(self.package, []):
                        self.subscribed.set()

    async def read_app(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.app:
                if not isinstance(raw, str) or '"data_stream"' not in raw:
                    continue
                now = time.perf_counter_ns()
                sent_ns = int(json.loads(raw)["data"]["sentNs"])
                if self.result is not None:
                    self.result.received += 1
                    self.result.latencies_us.append((now - sent_ns) // 1000)
                if self.window is not None:
                    self.window.release()


@contextlib.asynccontextmanager
async def phase(name: str, seconds: float = STEP_TIMEOUT_S) -> Any:
    """Bound one set-up step; a timeout names the step."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise TimeoutError(f"{name} took longer than {seconds:.0f} s") from None


class Generator:
    def __init__(self, index: int, package: str) -> None:
        self.index = index
        self.package = package
        self.webhooks = WebhookResponder()
        self.users: list[User] = []
        self.tg: asyncio.TaskGroup | None = None
        self.cloud_port = 0
        self.created = 0  # users ever created: emails are never reused across phases

    async def add_user(self, n: int) -> User:
        from websockets.asyncio.client import connect

        from wsquake.cloud import mint_token

        assert self.tg is not None
        user = User(f"bench-{self.index}-{n}@example.com", self.package)
        token = mint_token(SECRET, user.email)
        base = f"ws://127.0.0.1:{self.cloud_port}"
        opts: dict[str, Any] = {
            "proxy": None,
            "compression": None,
            "ping_interval": None,
            "open_timeout": STEP_TIMEOUT_S,
            "close_timeout": 1,
        }
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.webhooks.waiters[user.session_id] = waiter
        async with phase("glasses connect"):
            user.glasses = await connect(
                f"{base}/glasses-ws",
                additional_headers={"Authorization": f"Bearer {token}"},
                **opts,
            )
        self.users.append(user)
        self.tg.create_task(user.read_glasses())
        await user.glasses.send(json.dumps({"type": "start_app", "packageName": self.package}))
        async with phase("start_app -> session_request webhook"):
            ws_url = await waiter
        del self.webhooks.waiters[user.session_id]
        async with phase("app socket connect"):
            user.app = await connect(ws_url, **opts)
        init = {
            "type": "tpa_connection_init",
            "sessionId": user.session_id,
            "packageName": self.package,
            "apiKey": f"key-{self.package}",
        }
        await user.app.send(json.dumps(init))
        async with phase("tpa_connection_ack"):
            ack = json.loads(await user.app.recv())
        if ack.get("type") != "tpa_connection_ack":
            raise RuntimeError(f"init refused: {ack}")
        self.tg.create_task(user.read_app())
        await user.app.send(
            json.dumps(
                {
                    "type": "subscription_update",
                    "packageName": self.package,
                    "sessionId": user.session_id,
                    "subscriptions": [STREAM],
                }
            )
        )
        async with phase("subscription -> app_state_change"):
            await user.subscribed.wait()
        return user

    async def add_users(self, count: int) -> tuple[int, str | None]:
        """Add ``count`` users; return how many succeeded and the first error."""
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)
        first = self.created
        self.created += count
        errors: list[str] = []

        async def one(n: int) -> bool:
            async with gate:
                if errors:
                    return False
                try:
                    await self.add_user(n)
                    return True
                except Exception as exc:  # a failure ends the ramp; report what it was
                    errors.append(f"{type(exc).__name__}: {exc}")
                    return False

        results = await asyncio.gather(*(one(first + i) for i in range(count)))
        return sum(results), (errors[0] if errors else None)

    async def relay(self, seconds: float, window: int) -> RelayResult:
        result = RelayResult()
        for user in self.users:
            user.result = result
            user.window = asyncio.Semaphore(window)
        deadline = time.perf_counter() + seconds

        async def pump(user: User) -> None:
            assert user.window is not None
            seq = 0
            while time.perf_counter() < deadline:
                await user.window.acquire()
                seq += 1
                event = {
                    "type": "button_press",
                    "buttonId": str(seq),
                    "pressType": "short",
                    "sentNs": time.perf_counter_ns(),
                }
                await user.glasses.send(json.dumps(event))
                result.sent += 1

        async with asyncio.TaskGroup() as tg:
            for user in self.users:
                tg.create_task(pump(user))
        # Drain: wait until every sent event was received, or 5 s pass (then: lost).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                for user in self.users:
                    assert user.window is not None
                    for _ in range(window):
                        await user.window.acquire()
        for user in self.users:
            user.result = None
            user.window = None
        return result

    async def close_all(self) -> None:
        for user in self.users:
            for ws in (user.app, user.glasses):
                if ws is not None:
                    with contextlib.suppress(Exception):
                        await ws.close()
        self.users.clear()


def generator_process(conn: Connection, index: int, package: str, cpus: set[int]) -> None:
    pin(cpus)
    raise_nofile()
    asyncio.run(_generator_main(conn, index, package))


async def _generator_main(conn: Connection, index: int, package: str) -> None:
    gen = Generator(index, package)
    loop = asyncio.get_running_loop()
    await gen.webhooks.start()
    conn.send(("ready", gen.webhooks.port))
    async with asyncio.TaskGroup() as tg:
        gen.tg = tg
        try:
            while True:
                command, *args = await loop.run_in_executor(None, conn.recv)
                if command == "cloud":
                    gen.cloud_port = int(args[0])
                    conn.send(("ok",))
                elif command == "relay":
                    users, seconds, window = args
                    started = time.perf_counter()
                    added, error = await gen.add_users(users)
                    setup = time.perf_counter() - started
                    if error is not None:
                        conn.send(("relay", None, added, error))
                        continue
                    result = await gen.relay(seconds, window)
                    result.setup_s = setup
                    await gen.close_all()
                    conn.send(("relay", result, added, None))
                elif command == "add":
                    (count,) = args
                    added, error = await gen.add_users(count)
                    conn.send(("added", added, error))
                elif command == "stop":
                    await gen.close_all()
                    break
        finally:
            await gen.close_all()
            await gen.webhooks.aclose()
            conn.send(("bye",))


# ============================================================================= parent


def percentile(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return float(ordered[k])


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (Linux ``/proc``), NaN elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (about 20 s)")
    parser.add_argument("--generators", type=int, default=None, help="load processes")
    parser.add_argument("--relay-users", type=int, default=None)
    parser.add_argument("--relay-seconds", type=float, default=None)
    parser.add_argument("--window", type=int, default=8, help="in-flight events per user")
    parser.add_argument("--hold-cap", type=int, default=None, help="max users to hold")
    parser.add_argument("--hold-batch", type=int, default=None, help="users added per step")
    args = parser.parse_args(argv)
    quick = args.quick
    args.generators = args.generators or (1 if quick else 2)
    args.relay_users = args.relay_users or (20 if quick else 200)
    args.relay_seconds = args.relay_seconds or (3.0 if quick else 10.0)
    args.hold_cap = args.hold_cap or (300 if quick else 5000)
    args.hold_batch = args.hold_batch or (100 if quick else 500)
    for name in ("generators", "relay_users", "window", "hold_cap", "hold_batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.relay_seconds <= 0:
        parser.error("--relay-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    nofile = raise_nofile()
    ctx = mp.get_context("spawn")
    all_cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cloud_cpus = {all_cpus[0]} if len(all_cpus) > 1 else set()
    gen_cpus = set(all_cpus[1:]) if len(all_cpus) > 1 else set()

    gens: list[tuple[Any, Connection]] = []
    cloud: tuple[Any, Connection] | None = None
    try:
        for i in range(args.generators):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=generator_process, args=(child, i, f"com.bench.gen{i}", gen_cpus)
            )
            proc.start()
            gens.append((proc, parent))
        apps = []
        for i, (_, conn) in enumerate(gens):
            _, port = conn.recv()
            apps.append((f"com.bench.gen{i}", f"http://127.0.0.1:{port}"))
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=cloud_process, args=(child, apps, cloud_cpus))
        proc.start()
        cloud = (proc, parent)
        _, cloud_port, cloud_pid = parent.recv()
        for _, conn in gens:
            conn.send(("cloud", cloud_port))
            conn.recv()
        print(
            f"cloud pid {cloud_pid} on port {cloud_port} (cpus {sorted(cloud_cpus) or 'any'}),"
            f" {args.generators} generator(s) (cpus {sorted(gen_cpus) or 'any'}),"
            f" RLIMIT_NOFILE {nofile}",
            flush=True,
        )

        # ---- relay
        per_gen = max(1, args.relay_users // args.generators)
        cpu_before, wall_before = cpu_seconds(cloud_pid), time.perf_counter()
        for _, conn in gens:
            conn.send(("relay", per_gen, args.relay_seconds, args.window))
        total = RelayResult()
        setup = 0.0
        for _, conn in gens:
            _, result, added, error = conn.recv()
            if error is not None:
                print(f"relay setup failed after {added} users: {error}", file=sys.stderr)
                return 70
            total.sent += result.sent
            total.received += result.received
            total.latencies_us.extend(result.latencies_us)
            setup = max(setup, result.setup_s)
        users = per_gen * args.generators
        seconds = args.relay_seconds
        relay_wall = time.perf_counter() - wall_before
        cloud_cpu = (cpu_seconds(cloud_pid) - cpu_before) / relay_wall * 100

        # ---- hold
        held = 0
        stop_reason = f"cap {args.hold_cap} users reached"
        ramp_started = time.perf_counter()
        while held < args.hold_cap:
            step = min(args.hold_batch, args.hold_cap - held)
            shares = [step // args.generators] * args.generators
            for i in range(step % args.generators):
                shares[i] += 1
            for (_, conn), share in zip(gens, shares, strict=True):
                conn.send(("add", share))
            failure = None
            for _, conn in gens:
                _, added, error = conn.recv()
                held += added
                failure = failure or error
            print(f"  holding {held} users ({2 * held} sockets)", flush=True)
            if failure is not None:
                stop_reason = f"connect failed: {failure}"
                break
        ramp_s = time.perf_counter() - ramp_started
        cloud_rss = rss_mb(cloud_pid)

        lat = total.latencies_us
        rows = [
            ("relay users (glasses + app socket)", f"{users}"),
            ("relay setup time", f"{setup:.2f} s"),
            ("events sent", f"{total.sent} ({total.sent / seconds:,.0f}/s)"),
            ("events received by apps", f"{total.received} ({total.received / seconds:,.0f}/s)"),
            ("events lost", f"{total.sent - total.received}"),
            ("relay latency p50", f"{percentile(lat, 0.50) / 1000:.2f} ms"),
            ("relay latency p99", f"{percentile(lat, 0.99) / 1000:.2f} ms"),
            ("relay latency mean", f"{statistics.fmean(lat) / 1000 if lat else 0:.2f} ms"),
            ("cloud CPU during relay phase", f"{cloud_cpu:.0f} % of one core"),
            ("users held (idle)", f"{held} ({2 * held} WebSockets)"),
            ("ramp stopped because", stop_reason),
            ("ramp time", f"{ramp_s:.1f} s"),
            ("cloud RSS while holding", f"{cloud_rss:.0f} MB"),
        ]
        print_table(rows)
        return 0
    finally:
        for _, conn in gens:
            with contextlib.suppress(Exception):
                conn.send(("stop",))
        if cloud is not None:
            with contextlib.suppress(Exception):
                cloud[1].send(("stop",))
        for proc, _ in [*gens, *([cloud] if cloud else [])]:
            proc.join(timeout=20)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)


def print_table(rows: list[tuple[str, str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a dependency
        for name, value in rows:
            print(f"{name:40} {value}")
        return
    table = Table(title="wsquake cloud relay benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)


if __name__ == "__main__":
    sys.exit(main())
