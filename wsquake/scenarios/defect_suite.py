"""``wsquake suite defects``: run the known-defect matrix and report it.

Every (defect, detecting scenario) pair of :data:`~wsquake.scenarios.defect_matrix.DEFECT_MATRIX`
runs with the defect's switches on, then every detecting scenario on the clean cloud, all
in one run directory (scenario directories ``d3-app-link-blackhole``,
``clean-app-link-blackhole``, ...). The matrix is printed, written as
``defects-matrix.json`` and ``defects-matrix.md`` into the run directory (the Markdown and
terminal reports include it), and the exit code is 0 only when every pair is caught and
every clean run passes; 1 otherwise; 70 when the harness broke; 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from wsquake.scenarios.defect_matrix import (
    DEFECT_MATRIX,
    CellOutcome,
    DefectRow,
    MatrixResult,
    evaluate,
    format_markdown,
    plan,
)
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.runner import RunResult

__all__ = ["MATRIX_JSON", "MATRIX_MD", "MATRIX_TXT", "format_matrix_table", "matrix_of",
           "run_defect_suite",
           "write_matrix"]

logger = logging.getLogger(__name__)

MATRIX_JSON = "defects-matrix.json"
MATRIX_MD = "defects-matrix.md"
MATRIX_TXT = "defects-matrix.txt"
EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70
EXIT_INTERRUPTED = 130

_STYLE = {
    CellOutcome.CAUGHT: "green",
    CellOutcome.CLEAN_PASS: "green",
    CellOutcome.MISSED: "red",
    CellOutcome.CLEAN_FAIL: "red",
    CellOutcome.ERROR: "magenta",
}


def matrix_of(result: RunResult, runs: Sequence[Any], wall_s: float,
              matrix: Sequence[DefectRow] = DEFECT_MATRIX) -> MatrixResult:
    """The matrix of a finished run (its scenarios keyed by run name)."""
    outcomes = {s.name: s.to_json(result.path) for s in result.scenarios}
    cells = evaluate(runs, outcomes, matrix)
    return MatrixResult(tuple(cells), wall_s=wall_s, run_dir=str(result.path))


def write_matrix(matrix_result: MatrixResult, run_dir: Path,
                 matrix: Sequence[DefectRow] = DEFECT_MATRIX) -> tuple[Path, Path, Path]:
    """``defects-matrix.json``/``.md``/``.txt`` in ``run_dir`` (the reports include the
    ``.md`` and ``.txt``)."""
    json_path = run_dir / MATRIX_JSON
    md_path = run_dir / MATRIX_MD
    txt_path = run_dir / MATRIX_TXT
    json_path.write_text(matrix_result.to_json_text(matrix), encoding="utf-8")
    md_path.write_text(format_markdown(matrix_result, matrix), encoding="utf-8")
    buffer = io.StringIO()
    print_matrix(matrix_result, Console(file=buffer, width=120, no_color=True,
                                        color_system=None, force_terminal=False,
                                        highlight=False, soft_wrap=False))
    txt_path.write_text(buffer.getvalue(), encoding="utf-8")
    return json_path, md_path, txt_path


def format_matrix_table(result: MatrixResult) -> Table:
    """Defect x scenario -> outcome, with the evidence that decided it."""
    table = Table(title=f"known-defect matrix ({result.wall_s:.0f} s)")
    table.add_column("defect", style="bold", no_wrap=True)
    table.add_column("scenario", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("evidence")
    for c in result.cells:
        style = _STYLE[c.outcome]
        evidence = c.evidence if len(c.evidence) <= 240 else c.evidence[:237] + "..."
        table.add_row(c.defect, c.scenario, f"[{style}]{c.outcome.value}[/{style}]", evidence)
    return table


def print_matrix(result: MatrixResult, out: TextIO | Console | None = None) -> None:
    console = out if isinstance(out, Console) else Console(file=out or sys.stdout,
                                                           soft_wrap=True)
    console.print(format_matrix_table(result))
    counts = result.counts()
    style = "green" if result.ok else "red"
    console.print(f"defects: [{style}]{'OK' if result.ok else 'NOT OK'}[/{style}] · "
                  f"{counts['caught']} caught, {counts['missed']} missed, "
                  f"{counts['clean-pass']} clean-pass, {counts['clean-fail']} clean-fail, "
                  f"{counts['error']} error · wall {result.wall_s:.0f} s")


def _only(args: argparse.Namespace) -> list[str] | None:
    values = getattr(args, "only", None) or []
    out = [part for value in values for part in str(value).split(",") if part.strip()]
    return out or None


def run_defect_suite(args: argparse.Namespace) -> int:
    """The ``wsquake suite defects`` handler (run options as for any suite)."""
    from wsquake.reports.cli import finish_run
    from wsquake.scenarios.cli import _main
    from wsquake.scenarios.live import RunStatus
    from wsquake.scenarios.runner import Runner, RunSettings

    if args.cloud_url:
        print("wsquake suite defects: --cloud-url cannot be used: the matrix turns the "
              "defects on in the cloud it starts", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "users", None) is not None:
        logger.warning("suite defects: --users is ignored (each scenario's fleet is sized "
                       "for its defect)")
    try:
        runs, scenarios = plan(defects=_only(args), time_scale=args.time_scale, seed=args.seed)
        runner = Runner(RunSettings(out=args.out, jwt_secret=args.jwt_secret),
                        status=RunStatus())
    except ScenarioError as exc:
        print(f"wsquake suite defects: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    started = time.monotonic()
    try:
        result = asyncio.run(_main(runner, scenarios, "defects", live=args.live))
    except ScenarioError as exc:
        print(f"wsquake suite defects: bad scenario: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"wsquake suite defects: cannot write the run directory: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    matrix_result = matrix_of(result, runs, time.monotonic() - started)
    try:
        write_matrix(matrix_result, result.path)
    except OSError as exc:
        print(f"wsquake suite defects: cannot write the matrix: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    print_matrix(matrix_result)
    print(f"run directory: {result.path}")
    if result.interrupted:
        code = EXIT_INTERRUPTED
    elif any(c.outcome is CellOutcome.ERROR for c in matrix_result.cells):
        code = EXIT_HARNESS_ERROR
    else:
        code = matrix_result.exit_code()
    # the reports (report.md/.txt include the matrix); a report failure makes a pass 70
    return finish_run(result.path, code)
