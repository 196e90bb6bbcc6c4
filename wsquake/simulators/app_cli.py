"""``wsquake apps``: run a fleet of simulated app servers (echo apps) until Ctrl-C.

::

    wsquake apps --packages com.example.echo,com.example.notes --api-key 'key-{package}' \\
        --register-with http://127.0.0.1:8002 --subscribe head_position --history runs/apps.jsonl

Prints each app's webhook URL when it is ready, then a live one-line status (rich when
stdout is a terminal, a plain line every ``--status-every`` seconds otherwise). Ctrl-C or
SIGTERM stops every app server (sessions closed without ``ownership_release``, as the SDK
does) and flushes the history. ``wsquake.simulators.cli`` adds this sub-command through
:func:`add_apps_parser`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from wsquake.config import ConfigError
from wsquake.gc_policy import server_gc
from wsquake.simulators.app_fleet import AppFleet, AppFleetSettings, load_app_fleet_settings
from wsquake.simulators.app_server import AppServerError, SdkProfile

__all__ = ["add_apps_parser", "build_fleet_settings", "run_apps"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70


def _csv(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def add_apps_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "apps",
        help="run simulated app servers (SDK-faithful echo apps)",
        description="Run one simulated app server per package (the @mentra/sdk AppServer "
        "and AppSession rules), each answering echo probes.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="settings TOML (top-level keys: packages, api_key, host, ...)")
    parser.add_argument("--packages", type=_csv, metavar="PKG[,PKG...]",
                        help="package names, comma-separated (required here, in the config"
                        " or in WSQUAKE_APPS_PACKAGES)")
    parser.add_argument("--api-key", dest="api_key", metavar="KEY",
                        help="api key; '{package}' is replaced by each package name")
    parser.add_argument("--host", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int,
                        help="base port: app i listens on PORT+i (default 0 = free ports)")
    parser.add_argument("--public-host", dest="public_host",
                        help="host the cloud reaches the apps at (default: --host)")
    parser.add_argument("--register-with", dest="register_with", metavar="URL",
                        help="cloud base URL to register with as TPA servers")
    parser.add_argument("--profile", choices=[p.value for p in SdkProfile],
                        help="SDK profile (default sdk_2_1)")
    parser.add_argument("--hung-attempt-stalls", dest="hung_attempt_stalls",
                        action=argparse.BooleanOptionalAction, default=None,
                        help="D14: a reconnect attempt hung in the handshake stalls the SDK's "
                        "sequence (default on, as upstream); --no-hung-attempt-stalls aborts it")
    parser.add_argument("--subscribe", type=_csv, dest="subscriptions",
                        metavar="STREAM[,STREAM...]",
                        help="streams each app subscribes to besides the probe stream")
    parser.add_argument("--time-scale", dest="time_scale", type=float,
                        help="multiply every SDK duration by this factor (default 1)")
    parser.add_argument("--history", dest="history_path", metavar="FILE",
                        help="history JSON-lines file to write")
    parser.add_argument("--seed", type=int, help="recorded with the run")
    parser.add_argument("--component", metavar="NAME",
                        help="component name in the history (default apps)")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="stop after S seconds (default: run until Ctrl-C)")
    parser.add_argument("--status-every", dest="status_every", type=float, default=5.0,
                        metavar="S", help="plain status line interval when not a TTY")
    parser.set_defaults(handler=run_apps)
    return parser


_FLAG_KEYS = ("packages", "api_key", "host", "port", "public_host", "register_with",
              "profile", "hung_attempt_stalls", "subscriptions", "time_scale", "history_path",
              "seed", "component")


def build_fleet_settings(
    args: argparse.Namespace, env: Mapping[str, str] = os.environ
) -> AppFleetSettings:
    """Flags over ``WSQUAKE_APPS_*`` env over ``--config`` over defaults."""
    overrides = {k: getattr(args, k) for k in _FLAG_KEYS if getattr(args, k, None) is not None}
    return load_app_fleet_settings(args.config, env, **overrides)


def run_apps(args: argparse.Namespace) -> int:
    try:
        settings = build_fleet_settings(args)
        if args.duration is not None and args.duration < 0:
            raise ConfigError("duration", f"must be >= 0, got {args.duration}")
        if not args.status_every > 0:
            raise ConfigError("status_every", f"must be > 0, got {args.status_every}")
    except ConfigError as exc:
        print(f"wsquake apps: bad arguments: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with server_gc():
            asyncio.run(serve_apps(settings, duration=args.duration, every=args.status_every))
    except OSError as exc:
        print(f"wsquake apps: cannot listen: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    except AppServerError as exc:
        print(f"wsquake apps: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    return EXIT_OK


async def serve_apps(
    settings: AppFleetSettings,
    *,
    duration: float | None = None,
    every: float = 5.0,
    out: TextIO | None = None,
) -> None:
    out = out if out is not None else sys.stdout
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with AppFleet(settings) as fleet:
            for package, url in fleet.webhook_urls().items():
                print(f"ready {package} {url}", file=out, flush=True)
            async with asyncio.TaskGroup() as tg:
                if duration is not None:
                    tg.create_task(_stop_after(stop, duration))
                await _status(fleet, stop, every, out)
            logger.info("stopping %d app servers", len(fleet.servers))
        print(f"stopped: {fleet.stats().line()}", file=out, flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


async def _stop_after(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    stop.set()


async def _status(fleet: AppFleet, stop: asyncio.Event, every: float, out: TextIO) -> None:
    """A rich live line on a terminal, else a plain line every ``every`` seconds."""
    if out.isatty():
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        def line() -> Text:
            return Text(fleet.stats().line(), no_wrap=True, overflow="ellipsis")

        with Live(line(), console=Console(file=out), refresh_per_second=4,
                  transient=False) as live:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.25):
                        await stop.wait()
                live.update(line())
        return
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(every):
                await stop.wait()
        if not stop.is_set():
            print(fleet.stats().line(), file=out, flush=True)
