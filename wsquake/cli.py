"""The ``wsquake`` command: parse, set up logging, dispatch. No logic of its own.

Each area contributes its sub-commands through an ``add_parser(subparsers)`` function
that calls ``parser.set_defaults(handler=...)``; a handler takes the parsed namespace and
returns the exit code (ARCHITECTURE.md §5).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from wsquake import __version__

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_UNKNOWN = 2
EXIT_REGRESSION = 3
EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70

# Modules that contribute sub-commands, in the order `wsquake --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "wsquake.cloud.cli",
    "wsquake.faults.proxy.cli",
    "wsquake.simulators.cli",
    "wsquake.scenarios.cli",
    "wsquake.reports.cli",
    "wsquake.load.cli",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; our contract says 64."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="wsquake",
        description="Reliability harness for the AugmentOS / MentraOS smart-glasses cloud.",
    )
    parser.add_argument("--version", action="version", version=f"wsquake {__version__}")
    parser.add_argument(
        "--log-level",
        default=os.environ.get("WSQUAKE_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (env WSQUAKE_LOG_LEVEL)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
