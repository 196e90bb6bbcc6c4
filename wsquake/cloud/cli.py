"""``wsquake cloud --config FILE [--host H] [--port P] [--time-scale X]
[--defects NAME[,NAME...]] [--defect-profile fixed|upstream]``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

import httpx

from wsquake.cloud.defects import parse_defect_names
from wsquake.cloud.server import CloudServer
from wsquake.cloud.settings import DEFECT_NAMES, CloudSettings, load_cloud_settings
from wsquake.config import ConfigError
from wsquake.gc_policy import server_gc

__all__ = ["add_parser", "run"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cloud",
        help="run the reference cloud",
        description="Run the reference AugmentOS/MentraOS cloud (PROTOCOL.md).",
    )
    parser.add_argument("--config", metavar="FILE", help="settings TOML (examples/cloud.toml)")
    parser.add_argument("--host", help="bind address (default from the config, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="TCP port (0 = any free port)")
    parser.add_argument("--time-scale", type=float, dest="time_scale",
                        help="multiply every protocol duration by this factor")
    parser.add_argument(
        "--defects", action="append", default=[], metavar="NAME[,NAME...]",
        help="turn on known upstream defects (PROTOCOL.md §12) by switch name or id "
        f"D1-D13; repeatable. Names: {', '.join(DEFECT_NAMES)}",
    )
    parser.add_argument(
        "--defect-profile", dest="defect_profile", metavar="fixed|upstream",
        help="'upstream' turns on every defect not set otherwise; 'fixed' (default) none",
    )
    parser.set_defaults(handler=run)


def build_settings(args: argparse.Namespace) -> CloudSettings:
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["host"] = args.host
    if args.port is not None:
        overrides["port"] = args.port
    if args.time_scale is not None:
        overrides["timings__time_scale"] = args.time_scale
    if args.defect_profile is not None:
        overrides["defects__profile"] = args.defect_profile
    for name in parse_defect_names(args.defects):
        overrides[f"defects__{name}"] = True
    return load_cloud_settings(args.config, **overrides)


def run(args: argparse.Namespace) -> int:
    try:
        settings = build_settings(args)
    except ConfigError as exc:
        print(f"wsquake cloud: bad config: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with server_gc():
            asyncio.run(serve(settings))
    except OSError as exc:
        print(f"wsquake cloud: cannot listen: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    return EXIT_OK


async def serve(settings: CloudSettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        async with CloudServer(settings) as cloud:
            async with httpx.AsyncClient(trust_env=False) as client:
                response = await client.get(cloud.url + "/health", timeout=5)
                response.raise_for_status()
            host, port = cloud._url_host, cloud.port
            print(
                f"wsquake cloud listening on http://{host}:{port} "
                f"(glasses ws://{host}:{port}/glasses-ws, apps ws://{host}:{port}/app-ws)",
                flush=True,
            )
            await stop.wait()
            logger.info("stopping")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
