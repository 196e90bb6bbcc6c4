"""Benchmark the whole stack: cloud + app fleet + glasses fleet, as users run them.

    .venv/bin/python bench/fleet.py [--quick] [--users N] [--ramp R] [--window S]
        [--find-max] [--steps 1000,2000,...] [--pin] [--keep DIR]

Each size runs three **separate processes** through the ``wsquake`` CLI, each with its own
history file in a temporary run directory:

* ``wsquake cloud`` (one ``[[apps]]`` entry: the echo app, ``background`` type);
* ``wsquake apps --packages com.example.echo`` (one app server, the echo app);
* ``wsquake glasses --users N --apps com.example.echo --rates button_press=1
  --probe-interval 5`` (every user starts the echo app, sends one ``button_press`` per
  second to it and an echo probe every 5 s).

Phases: ramp (``--ramp`` users/s) until the cloud's ``/api/sessions`` shows every user
with the echo app running; settle; a measured window of ``--window`` s of steady
traffic; stop (glasses, then apps, then cloud, each with SIGINT so histories flush). The
figures come from the histories (``HistoryFrames``): echo probe round trips (``display``
events with ``rtt_ms``) in the window, events sent in the window vs received at the app
(loss), and from ``/proc``: CPU seconds of each process over the window (→ CPU per 1,000
sessions) and peak RSS (``VmHWM``).

``--find-max`` runs the sizes of ``--steps`` in order and reports the largest whose probe
p99 stays under ``--p99-limit`` ms (250) with every user held and no loss.

``--pin`` pins the cloud to CPU 0 and both fleets to CPU 1 (2-core machines); by default
the kernel schedules all three freely. RLIMIT_NOFILE is raised to the hard limit (the
children inherit it). Every child is stopped on every exit path (Ctrl-C included).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
WSQUAKE = [sys.executable, "-m", "wsquake", "--log-level", "WARNING"]
#: ``--uvloop``: the same CLI with uvloop's event loop policy installed first.
UVLOOP_LAUNCHER = (
    "import asyncio, sys, uvloop; asyncio.set_event_loop_policy(uvloop.EventLoopPolicy()); "
    "from wsquake.cli import main; sys.exit(main(sys.argv[1:]))"
)
PACKAGE = "com.example.echo"
API_KEY = "echo-bench-key"
SECRET = "wsquake-fleet-bench-secret-0123456789abcdef"
STOP_TIMEOUT_S = 60.0
START_TIMEOUT_S = 30.0
POLL_S = 2.0


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def machine_busy_s() -> float:
    """CPU seconds all processes on the machine have used (every core, not idle)."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, k, 0.0) for k in ("user", "nice", "system", "irq", "softirq")))


def peak_rss_mb(pid: int) -> float:
    """``VmHWM`` (peak resident set) of a live process, in MiB."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else math.nan


# ============================================================================ processes


@dataclass
class Child:
    """One CLI child: its stdout is drained into ``lines`` (the last few kept)."""

    name: str
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    first_line: asyncio.Future[str] | None = None

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    @property
    def last(self) -> str:
        return self.lines[-1] if self.lines else ""

    async def drain(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if self.first_line is not None and not self.first_line.done():
                self.first_line.set_result(line)
            self.lines.append(line)
            del self.lines[:-20]
        if self.first_line is not None and not self.first_line.done():
            self.first_line.set_exception(RuntimeError(f"{self.name} exited before its first line"))

    async def stop(self) -> int:
        """SIGINT (clean stop, histories flushed); SIGKILL after ``STOP_TIMEOUT_S``."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await self.proc.wait()
            except TimeoutError:
                print(f"  {self.name} did not stop in {STOP_TIMEOUT_S:.0f}s: killed", flush=True)
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        return int(self.proc.returncode or 0)


class Stack:
    """The three processes of one run; an async context manager that stops them all."""

    def __init__(self, run_dir: Path, args: argparse.Namespace, users: int) -> None:
        self.run_dir = run_dir
        self.args = args
        self.users = users
        self.children: list[Child] = []
        self.cloud_port = 0
        self._tg = asyncio.TaskGroup()

    async def __aenter__(self) -> Stack:
        await self._tg.__aenter__()
        try:
            await self._start()
        except BaseException:
            await self.aclose()
            await self._tg.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.aclose()
        finally:
            await self._tg.__aexit__(None, None, None)

    async def aclose(self) -> None:
        # Glasses first (their closes are the clean end of every session), then apps, cloud.
        for child in reversed(self.children):
            code = await child.stop()
            if code not in (0, -signal.SIGINT):
                print(f"  {child.name} exited {code}: {child.last}", flush=True)

    async def spawn(self, name: str, argv: list[str], cpus: set[int] | None) -> Child:
        if self.args.uvloop:
            argv = [sys.executable, "-c", UVLOOP_LAUNCHER, *argv[len(WSQUAKE) - 2:]]
        if os.environ.get("FLEET_BENCH_LAUNCHER"):  # experiments: a script in place of -m
            argv = [sys.executable, os.environ["FLEET_BENCH_LAUNCHER"], *argv[len(WSQUAKE) - 2:]]
        with (self.run_dir / f"{name}.stderr").open("wb") as stderr:  # noqa: ASYNC230
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=stderr, cwd=ROOT
            )
        child = Child(name, proc, first_line=asyncio.get_running_loop().create_future())
        self.children.append(child)
        if cpus and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(proc.pid, cpus)
        self._tg.create_task(child.drain(), name=f"drain-{name}")
        return child

    async def _first_line(self, child: Child) -> str:
        assert child.first_line is not None
        async with asyncio.timeout(START_TIMEOUT_S):
            return await child.first_line

    async def _start(self) -> None:
        args = self.args
        pin = args.pin and (os.cpu_count() or 1) >= 2
        app_port = free_port()
        config = self.run_dir / "cloud.toml"
        config.write_text(
            'host = "127.0.0.1"\nport = 0\n[auth]\n'
            f'jwt_secret = "{SECRET}"\n'
            "[[apps]]\n"
            f'package_name = "{PACKAGE}"\npublic_url = "http://127.0.0.1:{app_port}"\n'
            f'api_key = "{API_KEY}"\npermissions = ["ALL"]\ntype = "background"\n'
        )
        cloud = await self.spawn("cloud", [*WSQUAKE, "cloud", "--config", str(config)],
                                 {0} if pin else None)
        line = await self._first_line(cloud)
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            raise RuntimeError(f"cloud did not start: {line!r}")
        self.cloud_port = int(match.group(1))
        apps = await self.spawn(
            "apps",
            [*WSQUAKE, "apps", "--packages", PACKAGE, "--api-key", API_KEY,
             "--port", str(app_port), "--history", str(self.run_dir / "apps-0.jsonl"),
             "--status-every", str(POLL_S)],
            {1} if pin else None,
        )
        line = await self._first_line(apps)
        if not line.startswith("ready"):
            raise RuntimeError(f"app server did not start: {line!r}")
        await self.spawn(
            "glasses",
            [*WSQUAKE, "glasses",
             "--cloud-url", f"ws://127.0.0.1:{self.cloud_port}/glasses-ws",
             "--jwt-secret", SECRET, "--users", str(self.users), "--apps", PACKAGE,
             "--ramp", str(args.ramp), "--seed", "1", "--policy", "android",
             "--rates", f"button_press={args.rate}",
             "--probe-interval", str(args.probe_interval),
             "--history", str(self.run_dir / "glasses-0.jsonl"), "--status-every", str(POLL_S)],
            {1} if pin else None,
        )

    def child(self, name: str) -> Child:
        return next(c for c in self.children if c.name == name)

    def check_alive(self) -> None:
        for child in self.children:
            if child.proc.returncode is not None:
                raise RuntimeError(f"{child.name} exited {child.proc.returncode}: {child.last}")


GLASSES_RE = re.compile(r"connected (\d+)")
APPS_RE = re.compile(r"live (\d+)")


def status_count(child: Child, pattern: re.Pattern[str]) -> int:
    """A count from a fleet's latest plain status line (0 before the first one)."""
    for line in reversed(child.lines):
        match = pattern.search(line)
        if match:
            return int(match.group(1))
    return 0


async def cloud_counts(client: httpx.AsyncClient, port: int) -> tuple[int, int]:
    """(users with a glasses socket, users whose echo app is running) from /api/sessions."""
    response = await client.get(f"http://127.0.0.1:{port}/api/sessions", timeout=30)
    body = response.json()
    users = body.get("users", [])
    glasses = int(body.get("connections", {}).get("glasses", 0))
    running = sum(
        1 for u in users
        for a in u.get("apps", [])
        if a.get("packageName") == PACKAGE and a.get("state") == "running"
    )
    return glasses, running


# ============================================================================= results


@dataclass
class Result:
    users: int
    held: int = 0
    running: int = 0
    ramp_s: float = math.nan
    window_s: float = 0.0
    sent: int = 0
    received: int = 0
    probes: int = 0
    echoes: int = 0
    p50: float = math.nan
    p95: float = math.nan
    p99: float = math.nan
    max_rtt: float = math.nan
    cpu: dict[str, float] = field(default_factory=dict)  # cores over the window
    rss_mb: dict[str, float] = field(default_factory=dict)
    others: float = math.nan  # cores busy with other processes over the window
    error: str = ""

    @property
    def lost(self) -> int:
        return self.sent - self.received

    def held_ok(self, p99_limit: float) -> bool:
        return (
            not self.error
            and self.held == self.users
            and self.running == self.users
            and self.lost == 0
            and self.echoes > 0
            and self.p99 < p99_limit
        )

    def per_1000(self, name: str) -> float:
        return self.cpu.get(name, math.nan) / max(self.running, 1) * 1000


def analyse(result: Result, run_dir: Path, t0: int, t1: int) -> None:
    """Fill the traffic figures from the run's histories (window [t0, t1] in wall ns)."""
    from wsquake.history.frame import HistoryFrames

    frames = HistoryFrames.from_run_dir(run_dir)
    sends = frames.sends[(frames.sends["t"] >= t0) & (frames.sends["t"] < t1)]
    stream = sends[sends["stream"] == "button_press"]
    keys = stream[["user", "stream", "seq"]].astype({"seq": "int64"})
    recv = frames.receives[["user", "stream", "seq"]].dropna().astype({"seq": "int64"})
    matched = keys.merge(recv.drop_duplicates(), on=["user", "stream", "seq"], how="inner")
    result.sent = len(keys)
    result.received = len(matched)
    result.probes = int((sends["kind"] == "probe").sum())
    echoes = frames.echoes[(frames.echoes["t"] >= t0) & (frames.echoes["t"] < t1)]
    rtts = echoes["rtt_ms"].dropna().astype(float)
    result.echoes = len(rtts)
    if len(rtts):
        result.p50, result.p95, result.p99 = (float(rtts.quantile(q)) for q in (0.5, 0.95, 0.99))
        result.max_rtt = float(rtts.max())


async def run_size(args: argparse.Namespace, users: int) -> Result:
    result = Result(users)
    run_dir = Path(tempfile.mkdtemp(prefix=f"wsquake-fleet-{users}-", dir=args.keep))
    print(f"\n== {users} users, ramp {args.ramp}/s, run dir {run_dir}", flush=True)
    t0 = t1 = 0
    try:
        async with Stack(run_dir, args, users) as stack, httpx.AsyncClient(
            trust_env=False
        ) as client:
            procs = {c.name: psutil.Process(c.pid) for c in stack.children}
            started = time.monotonic()
            deadline = started + users / max(args.ramp, 1e-9) + args.ramp_grace
            held = running = 0
            # The fleets' own status lines, not the cloud's /api/sessions: a snapshot of
            # thousands of users costs the cloud real CPU while it is being measured.
            while True:
                stack.check_alive()
                held = status_count(stack.child("glasses"), GLASSES_RE)
                running = status_count(stack.child("apps"), APPS_RE)
                now = time.monotonic()
                print(f"  ramp {now - started:5.1f}s | {stack.child('glasses').last}", flush=True)
                if (held >= users and running >= users) or now > deadline:
                    break
                await asyncio.sleep(POLL_S)
            result.ramp_s = time.monotonic() - started
            held, running = await cloud_counts(client, stack.cloud_port)
            print(f"  cloud: {held} glasses sockets, {running} echo apps running", flush=True)
            if running < users:
                result.error = f"ramp: only {running}/{users} apps running"
            await asyncio.sleep(args.settle)
            before = {name: cpu_seconds(p) for name, p in procs.items()}
            busy0 = machine_busy_s()
            t0, w0 = time.time_ns(), time.monotonic()
            while time.monotonic() - w0 < args.window:
                await asyncio.sleep(min(5.0, args.window - (time.monotonic() - w0)))
                stack.check_alive()
                print(f"  window {time.monotonic() - w0:5.1f}s | "
                      f"{stack.child('glasses').last}", flush=True)
            t1, w1 = time.time_ns(), time.monotonic()
            after = {name: cpu_seconds(p) for name, p in procs.items()}
            busy1 = machine_busy_s()
            result.window_s = w1 - w0
            result.cpu = {n: (after[n] - before[n]) / result.window_s for n in procs}
            result.others = (busy1 - busy0) / result.window_s - sum(result.cpu.values())
            result.held, result.running = await cloud_counts(client, stack.cloud_port)
            result.rss_mb = {n: peak_rss_mb(p.pid) for n, p in procs.items()}
            print(f"  apps: {stack.child('apps').last}", flush=True)
    except Exception as exc:  # a failed size is a result, not a crash of the whole bench
        result.error = result.error or f"{type(exc).__name__}: {exc}"
    if t1:
        analyse(result, run_dir, t0, t1)
    if args.keep is None:
        shutil.rmtree(run_dir, ignore_errors=True)
    return result


# ============================================================================== output


def table(results: list[Result], p99_limit: float) -> str:
    head = (f"{'users':>6} {'held':>6} {'apps':>6} {'ramp s':>7} {'sent':>8} {'lost':>6} "
            f"{'probes':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} "
            f"{'cloud':>6} {'apps':>6} {'glass':>6} {'cpu/1k: cloud':>14} {'apps':>5} "
            f"{'glass':>5} {'rss MB: cloud':>14} {'apps':>5} {'glass':>5} {'others':>6}  verdict")
    rows = [head, "-" * len(head)]
    for r in results:
        verdict = "held" if r.held_ok(p99_limit) else f"NOT held {r.error}".rstrip()
        rows.append(
            f"{r.users:>6} {r.held:>6} {r.running:>6} {r.ramp_s:>7.1f} {r.sent:>8} "
            f"{r.lost:>6} {r.echoes:>7} {r.p50:>7.1f} {r.p95:>7.1f} {r.p99:>7.1f} "
            f"{r.max_rtt:>7.1f} "
            + " ".join(f"{r.cpu.get(n, math.nan):>6.2f}" for n in ("cloud", "apps", "glasses"))
            + f" {r.per_1000('cloud'):>14.3f} {r.per_1000('apps'):>5.3f} "
            f"{r.per_1000('glasses'):>5.3f} {r.rss_mb.get('cloud', math.nan):>14.0f} "
            f"{r.rss_mb.get('apps', math.nan):>5.0f} {r.rss_mb.get('glasses', math.nan):>5.0f}"
            f" {r.others:>6.2f}  {verdict}"
        )
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="200 users, 10 s window (a smoke run, ~30 s)")
    parser.add_argument("--users", type=int, default=5000, help="fleet size (default 5000)")
    parser.add_argument("--ramp", type=float, default=50.0, help="users started per second")
    parser.add_argument("--window", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds between the end of the ramp and the window")
    parser.add_argument("--ramp-grace", dest="ramp_grace", type=float, default=60.0,
                        help="seconds allowed beyond users/ramp for every app to run")
    parser.add_argument("--rate", type=float, default=1.0, help="button_press events/s per user")
    parser.add_argument("--probe-interval", dest="probe_interval", type=float, default=5.0)
    parser.add_argument("--p99-limit", dest="p99_limit", type=float, default=250.0)
    parser.add_argument("--find-max", dest="find_max", action="store_true",
                        help="step through --steps, report the largest size held")
    parser.add_argument("--steps", default="1000,2000,3000,4000,5000,6000",
                        help="sizes for --find-max (comma-separated)")
    parser.add_argument("--pin", action="store_true",
                        help="cloud on CPU 0, app and glasses fleets on CPU 1")
    parser.add_argument("--uvloop", action="store_true",
                        help="run the three processes on uvloop's event loop")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="keep each run directory (histories) under DIR")
    args = parser.parse_args(argv)
    if args.uvloop and importlib.util.find_spec("uvloop") is None:
        parser.error("--uvloop needs the uvloop package (pip install 'uvloop>=0.19,<1'); "
                     "it is not a project dependency")
    if args.quick:
        args.users, args.window, args.settle = 200, 10.0, 2.0
    if args.users < 1 or args.ramp <= 0 or args.window <= 0:
        parser.error("--users, --ramp and --window must be > 0")
    try:
        args.step_sizes = [int(s) for s in args.steps.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--steps: not a list of integers: {args.steps!r}")
    if args.keep is not None:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    return args


async def main_async(args: argparse.Namespace) -> list[Result]:
    sizes = args.step_sizes if args.find_max else [args.users]
    results: list[Result] = []
    for users in sizes:
        result = await run_size(args, users)
        results.append(result)
        print(table([result], args.p99_limit), flush=True)
        if args.find_max and not result.held_ok(args.p99_limit):
            break
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit = raise_nofile()
    print(f"fleet bench: {os.cpu_count()} CPUs, RLIMIT_NOFILE {limit}, "
          f"{'pinned (cloud: CPU 0, fleets: CPU 1)' if args.pin else 'not pinned'}, "
          f"{args.rate} event/s per user, probe every {args.probe_interval} s", flush=True)
    try:
        results = asyncio.run(main_async(args))
    except KeyboardInterrupt:
        print("interrupted; every child was stopped", file=sys.stderr)
        return 130
    print("\n" + table(results, args.p99_limit))
    held = [r for r in results if r.held_ok(args.p99_limit)]
    best = max(held, key=lambda r: r.users) if held else None
    print(json.dumps({"largest_held": best.users if best else 0,
                      "p99_limit_ms": args.p99_limit}))
    return 0 if best is not None and (args.find_max or best.users == args.users) else 1


if __name__ == "__main__":
    sys.exit(main())
