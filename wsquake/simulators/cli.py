"""``wsquake glasses …`` (this module) and ``wsquake apps …`` (``app_cli``).

``wsquake glasses --cloud-url ws://127.0.0.1:8002/glasses-ws --jwt-secret S --users 100
--apps com.example.echo --ramp 20 --seed 1 --policy android --time-scale 1
--history runs/demo/glasses-0.jsonl --duration 60``

Settings: defaults < ``--config`` TOML < ``WSQUAKE_GLASSES_*`` env < flags. While running
it shows one live status line (rich on a terminal, a plain line every
``--status-every`` seconds otherwise). Ctrl-C or SIGTERM stops every client cleanly
(close 1000) and flushes the history.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any, TextIO

from wsquake.config import ConfigError
from wsquake.gc_policy import server_gc
from wsquake.history import HistoryError
from wsquake.protocol import PolicyError
from wsquake.simulators.exceptions import SimulatorConfigError
from wsquake.simulators.glasses_fleet import (
    GlassesFleet,
    GlassesFleetSettings,
    load_fleet_settings,
)
from wsquake.simulators.glasses_streams import StreamRates

__all__ = ["add_glasses_parser", "add_parser", "build_settings", "run_glasses"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70


def add_parser(subparsers: Any) -> None:
    """Add ``glasses`` and, once it exists, ``apps`` (``app_cli.add_apps_parser``)."""
    add_glasses_parser(subparsers)
    try:
        from wsquake.simulators.app_cli import add_apps_parser
    except ImportError as exc:  # the app side is still being built
        logger.debug("wsquake apps unavailable: %s", exc)
        return
    add_apps_parser(subparsers)


def _csv(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def add_glasses_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "glasses",
        help="run a fleet of simulated glasses clients",
        description="Run N simulated glasses (Android/iOS reconnect behaviour) against a "
        "cloud URL, streaming sensor events and echo probes, recording a history.",
    )
    add = parser.add_argument
    add("--config", metavar="FILE", help="fleet settings TOML (flags override it)")
    add("--cloud-url", dest="cloud_url", metavar="URL",
        help="glasses WebSocket URL, e.g. ws://127.0.0.1:8002/glasses-ws")
    add("--jwt-secret", dest="jwt_secret", metavar="S", help="HS256 secret to mint core tokens")
    add("--users", type=int, metavar="N", help="number of users (default 1)")
    add("--first-user", dest="first_user", type=int, metavar="I",
        help="index of the first user (to split one fleet over processes)")
    add("--apps", type=_csv, metavar="PKG,PKG", help="packages every user starts")
    add("--ramp", type=float, metavar="R", help="users started per second (0 = all at once)")
    add("--seed", type=int, metavar="S", help="seed: emails, jitter and phases derive from it")
    add("--policy", choices=["android", "ios", "custom"], help="reconnect policy")
    add("--time-scale", dest="time_scale", type=float, metavar="X",
        help="multiply the reconnect policy's durations by X")
    add("--rates", metavar="STREAM=R,…",
        help="events/s per stream: head_position, button_press, location_update, "
        "glasses_battery_update, VAD, audio_chunk (100 ms frames)")
    add("--probe-interval", dest="probe_interval_s", type=float, metavar="S",
        help="seconds between echo probes per user (0 = none)")
    add("--hyphens", action="store_true", default=None,
        help="hyphenated emails, e.g. user-1-0003@ex-ample.com")
    add("--email-domain", dest="email_domain", metavar="DOMAIN", help="email domain")
    add("--history", metavar="FILE", help="history JSON-lines file to append to")
    add("--component", metavar="NAME", help="component name in the history (glasses-0)")
    add("--duration", dest="duration_s", type=float, metavar="S",
        help="stop after S seconds (default: run until Ctrl-C)")
    add("--status-every", dest="status_every", type=float, default=5.0, metavar="S",
        help="seconds between plain status lines when stdout is not a terminal")
    parser.set_defaults(handler=run_glasses)
    return parser


_FLAGS = (
    "cloud_url", "jwt_secret", "users", "first_user", "apps", "ramp", "seed", "policy",
    "time_scale", "probe_interval_s", "hyphens", "email_domain", "history", "component",
    "duration_s",
)


def build_settings(args: argparse.Namespace) -> GlassesFleetSettings:
    """Settings from ``--config``, ``WSQUAKE_GLASSES_*`` and the flags."""
    overrides: dict[str, Any] = {
        name: getattr(args, name) for name in _FLAGS if getattr(args, name, None) is not None
    }
    if getattr(args, "rates", None):
        overrides["rates"] = StreamRates.parse(args.rates)
    return load_fleet_settings(getattr(args, "config", None), overrides=overrides)


def run_glasses(args: argparse.Namespace) -> int:
    try:
        settings = build_settings(args)
    except (ConfigError, SimulatorConfigError, PolicyError, HistoryError) as exc:
        print(f"wsquake glasses: bad settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.status_every <= 0:
        print("wsquake glasses: bad settings: --status-every: must be > 0", file=sys.stderr)
        return EXIT_USAGE
    try:
        with server_gc():
            asyncio.run(run_fleet(settings, status_every=args.status_every))
    except (OSError, HistoryError) as exc:
        print(f"wsquake glasses: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    return EXIT_OK


async def run_fleet(
    settings: GlassesFleetSettings, *, status_every: float = 5.0, out: TextIO | None = None
) -> GlassesFleet:
    """Run a fleet until its duration ends or SIGINT/SIGTERM, showing the status line."""
    out = out if out is not None else sys.stdout
    loop = asyncio.get_running_loop()
    fleet = GlassesFleet(settings)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, fleet.stop)
    try:
        async with asyncio.TaskGroup() as tg:
            runner = tg.create_task(fleet.run(), name="glasses-fleet")
            tg.create_task(_show_status(fleet, runner, out, status_every))
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    print(f"wsquake glasses: stopped: {fleet.status_line()}", file=out, flush=True)
    return fleet


async def _show_status(
    fleet: GlassesFleet, runner: asyncio.Task[None], out: TextIO, every: float
) -> None:
    """A rich live line on a terminal, else a plain line every ``every`` seconds."""
    if out.isatty():
        from rich.console import Console
        from rich.live import Live

        with Live(
            fleet.status_line(), console=Console(file=out), refresh_per_second=4, transient=True
        ) as live:
            while not runner.done():
                live.update(fleet.status_line())
                await asyncio.wait({runner}, timeout=0.25)
        return
    while not runner.done():
        await asyncio.wait({runner}, timeout=every)
        if not runner.done():
            print(fleet.status_line(), file=out, flush=True)
