"""``wsquake report RUN_DIR`` · ``wsquake compare BASE NEW`` / ``--baseline FILE``.

``report`` re-renders a recorded run (every format by default) and prints the terminal
report: exit 0, 64 bad run directory or format, 70 a report could not be written.
``compare`` prints and writes (``comparison.json``, ``comparison.md``) the metric deltas:
exit 0 no regression, 3 regression (ARCHITECTURE.md §5), 64 bad input.

:func:`finish_run` is what ``wsquake run`` / ``wsquake suite`` call at the end: write
every report into the run directory, then compare against ``--baseline`` if given.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from wsquake.reports.compare import (
    DEFAULT_RULES,
    Comparison,
    Rule,
    Snapshot,
    compare,
    format_comparison,
    format_comparison_markdown,
    load_rules,
    load_snapshot,
    snapshot_of,
)
from wsquake.reports.exceptions import ReportError
from wsquake.reports.model import load_run
from wsquake.reports.terminal import print_terminal
from wsquake.reports.writer import ALL_FORMATS, parse_formats, write_reports

__all__ = ["EXIT_REGRESSION", "add_parser", "finish_run", "write_comparison"]

logger = logging.getLogger(__name__)

EXIT_REGRESSION = 3
EXIT_USAGE = 64
EXIT_HARNESS_ERROR = 70


def add_parser(subparsers: Any) -> None:
    p_report = subparsers.add_parser(
        "report", help="render the reports of a recorded run",
        description="Re-render a run directory's reports (from summary.json and the "
        "histories only) and print the terminal report. Exit 0, 64 bad run directory or "
        "format, 70 a report could not be written.",
    )
    p_report.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                          help="a run directory, one of its scenario folders, or summary.json")
    p_report.add_argument("--format", dest="formats", default=",".join(ALL_FORMATS),
                          metavar="LIST",
                          help=f"comma-separated: {','.join(ALL_FORMATS)} or all (default all)")
    p_report.add_argument("--out", type=Path, metavar="DIR",
                          help="write here instead of the run directory")
    p_report.add_argument("--width", type=int, default=80, metavar="N",
                          help="report.txt width (default 80)")
    p_report.add_argument("--quiet", action="store_true", help="do not print the report")
    p_report.set_defaults(handler=run_report)

    p_compare = subparsers.add_parser(
        "compare", help="compare two runs (or a run with a baseline file)",
        description="Deltas of every metric of NEW against BASE (a run directory, a "
        "summary.json or a baseline.json), judged by regression rules; prints them and "
        "writes comparison.json and comparison.md. Exit 0, 3 regression, 64 bad input.",
    )
    p_compare.add_argument("runs", nargs="+", metavar="RUN",
                           help="BASE NEW, or NEW alone with --baseline")
    p_compare.add_argument("--baseline", type=Path, metavar="FILE",
                           help="compare NEW with this baseline.json / summary.json / run")
    p_compare.add_argument("--rules", type=Path, metavar="FILE",
                           help="regression rules (TOML or JSON), checked before the defaults")
    p_compare.add_argument("--out", type=Path, metavar="DIR",
                           help="where comparison.json/.md go (default: NEW's directory)")
    p_compare.add_argument("--all", dest="all_metrics", action="store_true",
                           help="show every metric, not only regressions and improvements")
    p_compare.set_defaults(handler=run_compare)


def run_report(args: argparse.Namespace, out: TextIO | None = None) -> int:
    try:
        formats = parse_formats(args.formats)
        model = load_run(args.run_dir)
    except ReportError as exc:
        print(f"wsquake report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.width < 40:
        print(f"wsquake report: --width: must be >= 40, got {args.width}", file=sys.stderr)
        return EXIT_USAGE
    target = args.out or (args.run_dir if args.run_dir.is_dir() else args.run_dir.parent)
    try:
        written = write_reports(model, formats, out=target, step_summary=True)
    except (ReportError, OSError) as exc:
        print(f"wsquake report: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    if not args.quiet:
        print_terminal(model, out)
    for fmt, paths in written.items():
        for path in paths:
            logger.info("%s: %s", fmt, path)
    return 0


def write_comparison(result: Comparison, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "comparison.json"
    json_path.write_text(json.dumps(result.to_json(), indent=2, allow_nan=False,
                                    default=_plain) + "\n", "utf-8")
    md_path = out_dir / "comparison.md"
    md_path.write_text(format_comparison_markdown(result), "utf-8")
    return [json_path, md_path]


def _plain(value: Any) -> Any:
    """numpy scalars → Python (``json.dumps`` ``default``)."""
    item = getattr(value, "item", None)
    if item is not None:
        number = item()
        return None if isinstance(number, float) and not math.isfinite(number) else number
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _rules(path: Path | None) -> Sequence[Rule]:
    return DEFAULT_RULES if path is None else load_rules(path)


def run_compare(args: argparse.Namespace, out: TextIO | None = None) -> int:
    runs: list[Path] = [Path(r) for r in args.runs]
    if args.baseline is not None and len(runs) != 1:
        print("wsquake compare: with --baseline give exactly one run (NEW)", file=sys.stderr)
        return EXIT_USAGE
    if args.baseline is None and len(runs) != 2:
        print("wsquake compare: give BASE and NEW (or NEW with --baseline FILE)",
              file=sys.stderr)
        return EXIT_USAGE
    base_path = args.baseline if args.baseline is not None else runs[0]
    new_path = runs[-1]
    try:
        rules = _rules(args.rules)
        base = load_snapshot(base_path)
        new = load_snapshot(new_path)
    except ReportError as exc:
        print(f"wsquake compare: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = compare(base, new, rules)
    stream = out or sys.stdout
    stream.write(format_comparison(result, all_metrics=args.all_metrics,
                                   color=stream.isatty()))
    target = args.out or (new_path if new_path.is_dir() else new_path.parent)
    try:
        write_comparison(result, target)
    except OSError as exc:
        print(f"wsquake compare: cannot write the comparison: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    return EXIT_REGRESSION if result.regressed else 0


def load_baseline_args(baseline: Path | None, rules: Path | None
                       ) -> tuple[Snapshot | None, Sequence[Rule]]:
    """Read ``--baseline``/``--rules`` of ``run``/``suite`` up front (ReportError → 64)."""
    snapshot = load_snapshot(baseline) if baseline is not None else None
    return snapshot, _rules(rules)


def finish_run(run_path: Path, code: int, *, baseline: Snapshot | None = None,
               rules: Sequence[Rule] = DEFAULT_RULES, out: TextIO | None = None,
               formats: Sequence[str] = ALL_FORMATS) -> int:
    """After ``wsquake run``/``suite``: every report, then the baseline comparison.

    The exit code becomes 70 if the run passed but a report could not be written, and 3
    on a regression when the run itself passed or was unknown (a failure, a harness
    error or an interrupt keep their code).
    """
    stream = out or sys.stdout
    try:
        written = write_reports(run_path, formats, step_summary=True)
        names = [p.name for paths in written.values() for p in paths
                 if p.parent == run_path and p.suffix != ".csv"]
        stream.write(f"reports: {', '.join(names)} (+ CSV tables) in {run_path}\n")
    except (ReportError, OSError) as exc:
        print(f"wsquake: {exc}", file=sys.stderr)
        code = EXIT_HARNESS_ERROR if code == 0 else code
    if baseline is None:
        return code
    try:
        result = compare(baseline, snapshot_of(load_run(run_path)), rules)
        write_comparison(result, run_path)
    except (ReportError, OSError) as exc:
        print(f"wsquake: baseline comparison failed: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR if code == 0 else code
    stream.write(format_comparison(result, color=stream.isatty()))
    if result.regressed and code in (0, 2):
        return EXIT_REGRESSION
    return code
