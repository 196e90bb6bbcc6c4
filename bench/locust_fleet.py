"""How many connected glasses sessions one Locust worker process holds with the echo probe
every 5 s while p99 echo stays under 250 ms.

    .venv/bin/python bench/locust_fleet.py                      # steps 500..3000 by 500
    .venv/bin/python bench/locust_fleet.py --steps 1000,2000 --hold 30 --spawn-rate 100

The reference cloud and the echo app fleet run in their own processes; each step runs one
standalone headless Locust process (one process = what one worker holds) with N users:
ramp at ``--spawn-rate``, then hold ``--hold`` s. Figures per step: sessions connected at
the cloud at the end of the hold (``wsquake_cloud_glasses_connections``), p99 echo over
the last 10 s of the hold (Locust's current-window percentile from the stats history),
echo and connect failures, and the Locust process's peak CPU. RLIMIT_NOFILE is raised to
the hard limit first (children inherit it). The answer is the largest step with every
user connected, no echo failures and p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from wsquake.faults.process import ManagedProcess
from wsquake.load.cli import locustfile_path
from wsquake.scenarios.components import parse_cloud_ready, wsquake_argv
from wsquake.scenarios.fleets import AppsReady

PACKAGE = "com.example.echo"
SECRET = "bench-secret-0123456789abcdef0123456789"
P99_LIMIT_MS = 250.0


@dataclass
class Step:
    users: int
    connected: int
    p99_ms: float | None
    echoes: int
    echo_failures: int
    connect_failures: int
    cpu_peak: float
    cloud_cpu: float = 0.0
    apps_cpu: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.connected >= self.users
            and self.echo_failures == 0
            and self.p99_ms is not None
            and self.p99_ms < P99_LIMIT_MS
        )


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def glasses_connections(http: httpx.AsyncClient, cloud: str) -> int:
    text = (await http.get(f"{cloud}/metrics")).text
    for line in text.splitlines():
        if line.startswith("wsquake_cloud_glasses_connections "):
            return int(float(line.split()[1]))
    return 0


def last_echo_p99(prefix: Path) -> float | None:
    """p99 of the last stats-history row for ``echo`` (Locust's 10 s current window)."""
    rows = []
    with Path(f"{prefix}_stats_history.csv").open(newline="") as file:
        rows = [r for r in csv.DictReader(file) if r["Name"] == "echo"]
    for row in reversed(rows):
        if row["99%"] not in ("N/A", ""):
            return float(row["99%"])
    return None


def final_counts(prefix: Path) -> dict[str, tuple[int, int]]:
    with Path(f"{prefix}_stats.csv").open(newline="") as file:
        return {
            r["Name"]: (int(r["Request Count"]), int(r["Failure Count"]))
            for r in csv.DictReader(file)
        }


async def run_step(
    users: int, rate: float, hold: float, ws_url: str, cloud: str, work: Path,
    others: dict[str, psutil.Process],
) -> Step:
    prefix = work / f"step-{users}"
    ramp = users / rate
    argv = [
        sys.executable, "-m", "locust", "-f", locustfile_path(), "--headless",
        "--host", ws_url, "-u", str(users), "-r", str(rate), "-t", f"{ramp + hold:.0f}s",
        "--csv", str(prefix), "--csv-full-history", "--stop-timeout", "10",
        "--glasses-jwt-secret", SECRET, "--glasses-apps", PACKAGE,
        "--glasses-probe-interval", "5", "--loglevel", "WARNING",
    ]
    connected = 0
    cpu_peak = 0.0
    peaks = dict.fromkeys(others, 0.0)
    for other in others.values():
        other.cpu_percent()
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        async with ManagedProcess(
            f"locust-{users}", argv, log_path=work / f"step-{users}.log",
            stop_timeout=30,
        ) as locust:
            assert locust.pid is not None
            proc = psutil.Process(locust.pid)
            proc.cpu_percent()
            end = time.monotonic() + ramp + hold - 2
            while time.monotonic() < end:
                await asyncio.sleep(2)  # sampling CPU and the cloud's gauge, not syncing
                cpu_peak = max(cpu_peak, proc.cpu_percent())
                for name, other in others.items():
                    peaks[name] = max(peaks[name], other.cpu_percent())
                connected = await glasses_connections(http, cloud)
            # Locust stops itself at --run-time (and writes its final CSV).
            await asyncio.to_thread(proc.wait, 60)
    counts = final_counts(prefix)
    echoes, echo_failures = counts.get("echo", (0, 0))
    return Step(
        users=users,
        connected=connected,
        p99_ms=last_echo_p99(prefix),
        echoes=echoes,
        echo_failures=echo_failures,
        connect_failures=counts.get("connect", (0, 0))[1],
        cpu_peak=cpu_peak,
        cloud_cpu=peaks.get("cloud", 0.0),
        apps_cpu=peaks.get("apps", 0.0),
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="500,1000,1500,2000,2500,3000")
    parser.add_argument("--spawn-rate", type=float, default=100.0)
    parser.add_argument("--hold", type=float, default=30.0)
    parser.add_argument("--keep-going", action="store_true",
                        help="run every step even after one fails")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the logs and Locust CSVs in DIR (default: a temp dir)")
    args = parser.parse_args(argv)
    hard = raise_nofile()
    steps = [int(s) for s in args.steps.split(",")]
    print(f"RLIMIT_NOFILE {hard}; steps {steps}; spawn {args.spawn_rate}/s; hold {args.hold}s")
    with tempfile.TemporaryDirectory(prefix="wsquake-bench-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        ready = AppsReady([PACKAGE])
        apps = ManagedProcess(
            "apps",
            wsquake_argv("apps", "--packages", PACKAGE, "--api-key", "echo-key", "--port", "0",
                         "--status-every", "3600"),
            ready=ready, log_path=work / "apps.log",
        )
        async with apps:
            [app_url] = ready.urls.values()
            config = work / "cloud.toml"
            config.write_text(
                'host = "127.0.0.1"\nport = 0\n[auth]\n'
                f'jwt_secret = "{SECRET}"\n[timings]\nboot_card_ms = 0\n'
                f'[[apps]]\npackage_name = "{PACKAGE}"\npublic_url = "{app_url}"\n'
                'api_key = "echo-key"\npermissions = ["ALL"]\ntype = "standard"\n'
            )
            cloud_proc = ManagedProcess(
                "cloud", wsquake_argv("cloud", "--config", str(config)),
                ready=parse_cloud_ready, log_path=work / "cloud.log",
            )
            async with cloud_proc:
                cloud = str(cloud_proc.ready_value)
                ws_url = cloud.replace("http://", "ws://") + "/glasses-ws"
                results: list[Step] = []
                print(f"{'users':>6} {'connected':>9} {'p99 echo':>9} {'echoes':>7} "
                      f"{'echo fail':>9} {'conn fail':>9} {'cpu% locust/cloud/apps':>22}  ok")
                assert cloud_proc.pid is not None and apps.pid is not None
                others = {"cloud": psutil.Process(cloud_proc.pid),
                          "apps": psutil.Process(apps.pid)}
                for users in steps:
                    step = await run_step(users, args.spawn_rate, args.hold, ws_url, cloud, work,
                                          others)
                    results.append(step)
                    p99 = f"{step.p99_ms:.0f}ms" if step.p99_ms is not None else "n/a"
                    print(f"{step.users:>6} {step.connected:>9} {p99:>9} {step.echoes:>7} "
                          f"{step.echo_failures:>9} {step.connect_failures:>9} "
                          f"{step.cpu_peak:>8.0f}/{step.cloud_cpu:.0f}/{step.apps_cpu:.0f}"
                          f"{'':>6}  {'yes' if step.ok else 'NO'}", flush=True)
                    if not step.ok and not args.keep_going:
                        break
    held = [s.users for s in results if s.ok]
    print(f"held with p99 echo < {P99_LIMIT_MS:.0f} ms: {max(held) if held else 0} sessions "
          "per Locust process")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
