"""``wsquake load``: run a Locust fleet of glasses users, headless, as master or as worker.

The command only builds Locust's command line (:func:`locust_argv`) and runs Locust in a
child process: Locust monkey-patches its process with gevent, so it never runs inside
wsquake's asyncio processes. Locust's exit code is passed on (0 ok, 1 some requests
failed); 64 for bad arguments, 70 when Locust cannot be started.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import subprocess
import sys
from typing import Any

from wsquake.load.exceptions import LoadConfigError
from wsquake.load.settings import LoadUserSettings

__all__ = ["add_parser", "locust_argv", "locustfile_path"]

logger = logging.getLogger(__name__)

EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70


def locustfile_path() -> str:
    """The installed locustfile (without importing it: that would import Locust)."""
    spec = importlib.util.find_spec("wsquake.load.locustfile")
    if spec is None or spec.origin is None:  # pragma: no cover - broken install
        raise LoadConfigError("locustfile", "wsquake.load.locustfile is not installed")
    return spec.origin


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "load",
        help="run a Locust load fleet of glasses (headless, master or worker)",
        description="Run Locust glasses users (connect, apps, sensor streams, echo probes) "
        "against a cloud: headless with a user count and spawn rate, with the web UI, or "
        "as a distributed master / worker. Arguments after -- go to Locust unchanged.",
    )
    add = parser.add_argument
    add("--host", "--cloud-url", dest="host", metavar="URL",
        help="the cloud's glasses URL, e.g. ws://127.0.0.1:8002/glasses-ws (not for --worker)")
    add("-u", "--users", type=int, metavar="N", help="peak number of glasses users")
    add("-r", "--spawn-rate", dest="spawn_rate", type=float, metavar="R",
        help="users started per second")
    add("-t", "--run-time", dest="run_time", metavar="T",
        help="stop after this time, e.g. 60s, 5m (headless and master)")
    add("--web", action="store_true",
        help="serve the Locust web UI instead of running headless")
    add("--web-host", dest="web_host", default=None, metavar="H",
        help="web UI bind address (Locust default: all interfaces)")
    add("--web-port", dest="web_port", type=int, default=None, metavar="P",
        help="web UI port (Locust default 8089)")
    add("--master", action="store_true", help="run as the distributed master")
    add("--expect-workers", dest="expect_workers", type=int, default=None, metavar="N",
        help="master, headless: wait for N workers before starting")
    add("--master-bind-port", dest="master_bind_port", type=int, default=None, metavar="P",
        help="master: port the workers connect to (Locust default 5557)")
    add("--worker", action="store_true", help="run as a worker of a master")
    add("--master-host", dest="master_host", default=None, metavar="H",
        help="worker: the master's address")
    add("--master-port", dest="master_port", type=int, default=None, metavar="P",
        help="worker: the master's port (Locust default 5557)")
    add("--csv", metavar="PREFIX", help="write Locust's CSV statistics to PREFIX_*.csv")
    add("--history", metavar="FILE",
        help="master/headless: append load_recovery and load_summary events to FILE")
    add("--summary-every", dest="summary_every", type=float, default=None, metavar="S",
        help="seconds between load_summary events (default 2)")
    add("--locustfile-path", action="store_true",
        help="print the path of wsquake's locustfile and exit")
    add("--print-command", action="store_true",
        help="print the Locust command line instead of running it")
    LoadUserSettings.add_arguments(parser)
    add("locust_args", nargs="*", metavar="-- LOCUST_ARGS",
        help="extra Locust arguments (after --)")
    parser.set_defaults(handler=run)
    return parser


def _check(args: argparse.Namespace) -> None:
    if args.master and args.worker:
        raise LoadConfigError("--master/--worker", "choose one of --master and --worker")
    if args.worker:
        if not args.master_host:
            raise LoadConfigError("--master-host", "a worker needs the master's address")
        for flag, value in (("--users", args.users), ("--run-time", args.run_time)):
            if value is not None:
                raise LoadConfigError(flag, "is set on the master, not on a worker")
    else:
        if not args.host or not str(args.host).startswith(("ws://", "wss://")):
            raise LoadConfigError(
                "--host", f"expected the cloud's ws:// glasses URL, got {args.host!r}"
            )
        if not args.web and (args.users is None or args.spawn_rate is None):
            raise LoadConfigError("--users", "headless runs need --users and --spawn-rate")
    for flag, value in (("--users", args.users), ("--expect-workers", args.expect_workers)):
        if value is not None and value < 1:
            raise LoadConfigError(flag, f"expected a number >= 1, got {value}")
    if args.spawn_rate is not None and not args.spawn_rate > 0:
        raise LoadConfigError("--spawn-rate", f"expected a number > 0, got {args.spawn_rate}")
    if args.glasses_policy is not None and args.glasses_policy not in ("android", "ios"):
        raise LoadConfigError(
            "--glasses-policy", f"expected android or ios, got {args.glasses_policy!r}"
        )


def locust_argv(args: argparse.Namespace, python: str = sys.executable) -> list[str]:
    """The Locust command line for parsed ``wsquake load`` arguments (validated)."""
    _check(args)
    argv = [python, "-m", "locust", "-f", locustfile_path()]

    def opt(flag: str, value: object) -> None:
        if value is not None:
            argv.extend([flag, str(value)])

    if args.worker:
        argv.append("--worker")
        opt("--master-host", args.master_host)
        opt("--master-port", args.master_port)
    else:
        opt("--host", args.host)
        if args.master:
            argv.append("--master")
            opt("--master-bind-port", args.master_bind_port)
            opt("--expect-workers", args.expect_workers)
        if args.web:
            opt("--web-host", args.web_host)
            opt("--web-port", args.web_port)
        else:
            argv.append("--headless")
        opt("--users", args.users)
        opt("--spawn-rate", args.spawn_rate)
        opt("--run-time", args.run_time)
        opt("--csv", args.csv)
        opt("--wsquake-history", args.history)
        opt("--wsquake-summary-every", args.summary_every)
    argv += LoadUserSettings.passthrough(args)
    argv += list(args.locust_args)
    return argv


def run(args: argparse.Namespace) -> int:
    if args.locustfile_path:
        print(locustfile_path())
        return 0
    try:
        argv = locust_argv(args)
    except LoadConfigError as exc:
        print(f"wsquake load: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.print_command:
        print(" ".join(argv))
        return 0
    logger.info("starting %s", " ".join(argv[1:]))
    try:
        child = subprocess.Popen(argv)
    except OSError as exc:
        print(f"wsquake load: cannot start Locust: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    try:
        return child.wait()
    except KeyboardInterrupt:  # Ctrl-C reached Locust too: let it write its stats
        return child.wait()
    finally:
        if child.poll() is None:
            child.terminate()
            child.wait()
