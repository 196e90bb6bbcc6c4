"""``wsquake proxy``: run the embedded Toxiproxy-compatible server from the command line.

Flags copy ``toxiproxy-server`` (``cmd/server/server.go``), Go-style single dash or double
dash: ``-host`` (localhost), ``-port`` (8474), ``-config FILE`` (a ``/populate`` array
applied at start), ``-proxy-metrics``, ``-seed N``, ``-version``. ``LOG_LEVEL`` (trace,
debug, info, warn, error) sets the proxy's log level as Toxiproxy's does. Prints the API
URL on stdout once ``GET /version`` answers, then runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from typing import Any

import httpx

from wsquake import __version__
from wsquake.faults.proxy.api import TOXIPROXY_VERSION
from wsquake.faults.proxy.exceptions import ProxyServerError
from wsquake.faults.proxy.server import EmbeddedToxiproxy

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70

#: How long the CLI waits for its own ``GET /version`` before giving up.
READY_TIMEOUT = 10.0

_LOG_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}


class ConfigError(ValueError):
    """The ``-config`` file is unreadable or not a ``/populate`` array."""


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be an integer, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be in 0..65535, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-host", "--host", default="localhost", help="API host (localhost)")
    parser.add_argument("-port", "--port", type=_port, default=8474, help="API port (8474)")
    parser.add_argument(
        "-config", "--config", metavar="FILE", help="JSON array of proxies, as for /populate"
    )
    parser.add_argument(
        "-proxy-metrics",
        "--proxy-metrics",
        action="store_true",
        help="serve Prometheus metrics on /metrics",
    )
    parser.add_argument(
        "-seed", "--seed", type=_seed, default=None, help="seed every random draw (reproducible)"
    )
    parser.add_argument(
        "-half-close",
        "--half-close",
        action="store_true",
        help="propagate EOF with shutdown(SHUT_WR) instead of a full close (not Toxiproxy)",
    )
    parser.add_argument(
        "-version", "--version", action="store_true", help="print the version and exit"
    )


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="run the embedded Toxiproxy-compatible fault proxy",
        description="Run the embedded Toxiproxy-compatible fault proxy (Toxiproxy 2.12.0 API). "
        "Prints the API URL once it answers; Ctrl-C or SIGTERM stops it.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)


def load_config(path: str) -> list[Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(
            f"config file {path} must hold a JSON array of proxies "
            '([{"name": …, "upstream": …, "listen": …}]), got ' + type(data).__name__
        )
    return data


def run(args: argparse.Namespace) -> int:
    if args.version:
        print(f"wsquake proxy {__version__} (Toxiproxy API {TOXIPROXY_VERSION})")
        return EXIT_OK
    level = os.environ.get("LOG_LEVEL", "").strip().lower()
    if level:
        if level not in _LOG_LEVELS:
            print(f"wsquake proxy: error: unknown LOG_LEVEL {level!r}", file=sys.stderr)
            return EXIT_USAGE
        logging.getLogger("wsquake.faults.proxy").setLevel(_LOG_LEVELS[level])
    try:
        config = load_config(args.config) if args.config else None
    except ConfigError as exc:
        print(f"wsquake proxy: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(serve(args, config))
    except KeyboardInterrupt:
        return EXIT_OK


async def serve(args: argparse.Namespace, config: list[Any] | None) -> int:
    server = EmbeddedToxiproxy(
        host=args.host,
        port=args.port,
        seed=args.seed,
        half_close=args.half_close,
        metrics=args.proxy_metrics,
    )
    try:
        await server.start()
    except (ProxyServerError, OSError) as exc:
        print(f"wsquake proxy: error: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if config is not None:
            code = await _populate(server, config, args.config)
            if code != EXIT_OK:
                return code
        async with httpx.AsyncClient(timeout=READY_TIMEOUT) as client:
            response = await client.get(server.url + "/version")
            response.raise_for_status()
        print(server.url, flush=True)
        await stop.wait()
        return EXIT_OK
    except httpx.HTTPError as exc:
        print(f"wsquake proxy: error: the API did not answer: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await server.stop()


async def _populate(server: EmbeddedToxiproxy, config: list[Any], path: str) -> int:
    assert server.collection is not None
    result = await server.collection.populate(config)
    if result.error is None:
        logger.info("config %s: %d proxies", path, len(result.proxies or []))
        return EXIT_OK
    print(f"wsquake proxy: error: config file {path}: {result.error.message}", file=sys.stderr)
    return EXIT_USAGE if result.error.status < 500 else EXIT_HARNESS_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wsquake.faults.proxy",
        description="Run the embedded Toxiproxy-compatible fault proxy (Toxiproxy 2.12.0 API).",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return run(args)
