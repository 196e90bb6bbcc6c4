"""``wsquake list`` · ``wsquake run NAME|FILE...`` · ``wsquake suite NAME``.

Exit codes (ARCHITECTURE.md §5): 0 every check passed · 1 a check failed · 2 a verdict is
unknown · 64 bad scenario or arguments (nothing was started) · 70 harness error (a
component did not start, the proxy API failed, a rollback failed) · 130 interrupted
(Ctrl-C / SIGTERM: faults rolled back, every process stopped, the run directory written
and marked ``interrupted``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.live import LiveView, RunStatus
from wsquake.scenarios.loader import catalog_names, load_scenario
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.runner import (
    DEFAULT_JWT_SECRET,
    Runner,
    RunResult,
    RunSettings,
    exit_code,
    resolve_scenarios,
)
from wsquake.scenarios.suites import SUITES, estimate_wall_s, resolve_suite

__all__ = ["add_parser", "format_summary", "print_summary"]

logger = logging.getLogger(__name__)

EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs"), metavar="DIR",
                        help="parent of the run directory (default runs/)")
    parser.add_argument("--seed", type=_seed, help="fleet seed (overrides the scenario's)")
    parser.add_argument("--time-scale", dest="time_scale", type=_positive_float, metavar="X",
                        help="multiply every duration by X (0.1 = ten times faster)")
    parser.add_argument("--users", type=_count, metavar="N", help="glasses users")
    parser.add_argument("--cloud-url", dest="cloud_url", metavar="URL",
                        help="use this cloud (http://HOST:PORT) instead of starting one; checks "
                        "that need its introspection say unknown if it has none")
    parser.add_argument("--jwt-secret", dest="jwt_secret", metavar="S",
                        default=os.environ.get("WSQUAKE_AUTH_JWT_SECRET", DEFAULT_JWT_SECRET),
                        help="HS256 secret of the cloud's core tokens (needed with --cloud-url; "
                        "env WSQUAKE_AUTH_JWT_SECRET)")
    parser.add_argument("--no-live", dest="live", action="store_false",
                        help="no live view (plain progress lines only when not a TTY)")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="compare with this baseline.json / summary.json / run directory "
                        "after the run; exit 3 on a regression (docs/reports.md)")
    parser.add_argument("--rules", type=Path, metavar="FILE",
                        help="regression rules for --baseline (TOML or JSON)")


def add_parser(subparsers: Any) -> None:
    p_list = subparsers.add_parser("list", help="list catalog scenarios and suites",
                                   description="List the scenario catalog and the suites.")
    p_list.set_defaults(handler=run_list)

    p_run = subparsers.add_parser(
        "run", help="run scenarios (catalog names or .py files)",
        description="Run scenarios one after the other into one run directory and print "
        "the verdicts. Exit 0 pass, 1 fail, 2 unknown, 64 bad scenario, 70 harness error, "
        "130 interrupted.",
    )
    p_run.add_argument("scenarios", nargs="+", metavar="NAME|FILE",
                       help="catalog name (wsquake list) or a scenario .py file")
    _run_options(p_run)
    p_run.set_defaults(handler=run_run)

    p_suite = subparsers.add_parser(
        "suite", help="run a suite (smoke, regression, full, defects)",
        description="Run a named suite of catalog scenarios at the suite's time scale. "
        "'defects' runs the known-defect matrix (docs/defect-matrix.md): exit 0 only "
        "when every defect is caught and the clean cloud passes.",
    )
    p_suite.add_argument("suite", metavar="NAME", help=", ".join((*SUITES, "defects")))
    p_suite.add_argument("--only", action="append", metavar="Dn[,Dn...]",
                         help="defects suite: only these defect ids (repeatable)")
    _run_options(p_suite)
    p_suite.set_defaults(handler=run_suite)


# -- list ------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    first = " ".join(text.split())
    for end in (". ", "; "):
        if end in first:
            first = first.split(end, 1)[0] + end.strip()
            break
    return first if len(first) <= 110 else first[:107] + "..."


def run_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    console = Console(file=out or sys.stdout, soft_wrap=True)
    table = Table(title="scenarios", show_lines=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("wall s", justify="right")
    table.add_column("description")
    problems = 0
    for name in catalog_names():
        try:
            scenario = load_scenario(name)
        except ScenarioError as exc:
            problems += 1
            table.add_row(name, "-", f"[red]broken: {exc}[/red]")
            continue
        wall = scenario.wall_s(scenario.duration_s())
        table.add_row(name, f"{wall:.0f}", _one_line(scenario.description))
    console.print(table)
    suites = Table(title="suites")
    suites.add_column("name", style="bold", no_wrap=True)
    suites.add_column("est. wall s", justify="right")
    suites.add_column("budget s", justify="right")
    suites.add_column("scenarios")
    for suite in SUITES.values():
        try:
            scenarios = resolve_suite(suite.name, warn=False)
        except ScenarioError as exc:
            suites.add_row(suite.name, "-", "-", f"[red]{exc}[/red]")
            continue
        budget = "-" if suite.budget_s is None else f"{suite.budget_s:.0f}"
        suites.add_row(suite.name, f"{estimate_wall_s(scenarios):.0f}", budget,
                       ", ".join(s.name for s in scenarios))
    from wsquake.scenarios.defect_matrix import DEFECT_MATRIX, plan

    try:
        _, matrix = plan()
        suites.add_row("defects", f"{estimate_wall_s(matrix):.0f}", "480",
                       f"known-defect matrix: D1-D{len(DEFECT_MATRIX)} × detecting "
                       f"scenario + clean runs ({len(matrix)} runs)")
    except ScenarioError as exc:
        problems += 1
        suites.add_row("defects", "-", "-", f"[red]{exc}[/red]")
    console.print(suites)
    return 0 if not problems else EXIT_HARNESS_ERROR


# -- run / suite -----------------------------------------------------------------------


def run_run(args: argparse.Namespace) -> int:
    try:
        scenarios = resolve_scenarios(args.scenarios, time_scale=args.time_scale,
                                      users=args.users, seed=args.seed)
    except ScenarioError as exc:
        print(f"wsquake run: bad scenario: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _execute(args, scenarios, label=None)


def run_suite(args: argparse.Namespace) -> int:
    if args.suite == "defects":
        from wsquake.scenarios.defect_suite import run_defect_suite

        return run_defect_suite(args)
    try:
        scenarios = resolve_suite(args.suite, time_scale=args.time_scale, users=args.users,
                                  seed=args.seed)
    except ScenarioError as exc:
        print(f"wsquake suite: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return _execute(args, scenarios, label=args.suite)


def _execute(args: argparse.Namespace, scenarios: Sequence[Scenario], label: str | None) -> int:
    # One line per HTTP request (probes, proxy API) would drown the progress lines.
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    from wsquake.reports.cli import finish_run, load_baseline_args
    from wsquake.reports.exceptions import ReportError

    try:  # a bad baseline is bad arguments: refuse it before anything starts
        baseline, rules = load_baseline_args(getattr(args, "baseline", None),
                                             getattr(args, "rules", None))
    except ReportError as exc:
        print(f"wsquake: bad --baseline/--rules: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = RunSettings(out=args.out, cloud_url=args.cloud_url,
                               jwt_secret=args.jwt_secret)
        status = RunStatus()
        runner = Runner(settings, status=status)
    except ScenarioError as exc:
        print(f"wsquake: bad arguments: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = asyncio.run(_main(runner, scenarios, label, live=args.live))
    except ScenarioError as exc:  # validate_for_run: nothing was started
        print(f"wsquake: bad scenario: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"wsquake: cannot write the run directory: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    print_summary(result)
    return finish_run(result.path, exit_code(result), baseline=baseline, rules=rules)


async def _main(runner: Runner, scenarios: Sequence[Scenario], label: str | None, *,
                live: bool) -> RunResult:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, _interrupt, runner, sig)
    try:
        with LiveView(runner.status, enabled=live or not sys.stdout.isatty()):
            return await runner.run(scenarios, label=label)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def _interrupt(runner: Runner, sig: signal.Signals) -> None:
    print(f"\nwsquake: {sig.name}: rolling back faults and stopping every component ...",
          file=sys.stderr, flush=True)
    runner.interrupt()


# -- summary ---------------------------------------------------------------------------

_STYLE = {"pass": "green", "fail": "red", "unknown": "yellow", "error": "magenta"}


def format_summary(result: RunResult) -> Table:
    """A compact table: one row per scenario, its checks' verdicts and key metrics."""
    title = f"run {result.run_id}" + (" (interrupted)" if result.interrupted else "")
    table = Table(title=title)
    table.add_column("scenario", style="bold", no_wrap=True)
    table.add_column("verdict")
    table.add_column("wall s", justify="right")
    table.add_column("checks")
    for s in result.scenarios:
        style = _STYLE.get(s.verdict, "")
        verdict = f"[{style}]{s.verdict}[/{style}]" if style else s.verdict
        if s.interrupted:
            verdict += " (interrupted)"
        if s.error:
            checks = s.error
        else:
            parts = []
            for c in s.checks:
                cs = _STYLE.get(c.verdict, "")
                failed = [t.get("expr") for t in c.thresholds if t.get("verdict") == "fail"]
                extra = f" ({'; '.join(str(f) for f in failed)})" if failed else ""
                parts.append(f"{c.name}=[{cs}]{c.verdict}[/{cs}]{extra}")
            checks = ", ".join(parts)
        table.add_row(s.name, verdict, f"{s.duration_s:.1f}", checks)
    return table


def print_summary(result: RunResult, out: TextIO | None = None) -> None:
    console = Console(file=out or sys.stdout, soft_wrap=True)
    console.print(format_summary(result))
    style = _STYLE.get(result.verdict, "")
    console.print(f"verdict: [{style}]{result.verdict}[/{style}]"
                  + (" (interrupted)" if result.interrupted else "")
                  + f" · exit {exit_code(result)} · run directory: {result.path}")
