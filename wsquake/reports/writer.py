"""``write_reports``: every report format of a run, written into its directory.

The runner's CLI calls it at the end of ``wsquake run`` / ``wsquake suite`` (all formats),
and ``wsquake report RUN_DIR`` re-renders a recorded run. Files:

=============  =====================================================================
``terminal``   ``report.txt`` (80 columns, no colour)
``markdown``   ``report.md`` (also appended to ``$GITHUB_STEP_SUMMARY`` when asked)
``junit``      ``junit.xml`` (validated against ``schema/junit-10.xsd`` if ``xmlschema``
               is installed)
``html``       ``report.html`` for one scenario; for a suite ``index.html`` plus one
               ``<scenario dir>.html`` per scenario: :mod:`wsquake.reports.html`
``json``       ``baseline.json`` (``summary.json`` is the runner's)
``csv``        ``metrics.csv``, ``thresholds.csv``, ``scenarios.csv``, ``checks.csv``
               (+ ``.parquet`` with ``pyarrow``)
=============  =====================================================================
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wsquake.reports.exceptions import ReportError
from wsquake.reports.exports import write_baseline, write_tables
from wsquake.reports.junit import format_junit, validate_junit
from wsquake.reports.markdown import format_markdown, write_step_summary
from wsquake.reports.model import RunModel, load_run
from wsquake.reports.terminal import format_terminal

__all__ = ["ALL_FORMATS", "parse_formats", "write_reports"]

logger = logging.getLogger(__name__)

ALL_FORMATS: tuple[str, ...] = ("terminal", "markdown", "junit", "html", "json", "csv")


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"terminal,junit"`` (or ``all``) → formats; an unknown name is a ReportError."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    if not names:
        raise ReportError(f"--format: expected one or more of {', '.join(ALL_FORMATS)}")
    if names == ["all"]:
        return ALL_FORMATS
    bad = [n for n in names if n not in ALL_FORMATS]
    if bad:
        raise ReportError(f"--format: unknown format(s) {', '.join(map(repr, bad))} "
                          f"(known: {', '.join(ALL_FORMATS)}, all)")
    return tuple(dict.fromkeys(names))


def _atomic_write(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
    return path


def _write_html(model: RunModel, out: Path) -> list[Path]:
    if importlib.util.find_spec("wsquake.reports.html") is None:
        logger.info("HTML report skipped: wsquake.reports.html is not available")
        return []
    module = importlib.import_module("wsquake.reports.html")
    write_html = getattr(module, "write_html", None)
    if write_html is None:
        logger.info("HTML report skipped: wsquake.reports.html has no write_html")
        return []
    written: Any = write_html(model, out)
    if written is None:
        return [p for p in (out / "report.html", out / "index.html") if p.exists()]
    if isinstance(written, str | Path):
        return [Path(written)]
    return [Path(p) for p in written]


def write_reports(
    run_dir: str | Path | RunModel,
    formats: Iterable[str] = ALL_FORMATS,
    *,
    out: str | Path | None = None,
    step_summary: bool = False,
    env: Mapping[str, str] | None = None,
) -> dict[str, list[Path]]:
    """Write ``formats`` for a run into ``out`` (default: the directory given).

    Each format is written independently: when some fail, the others are still written
    and a :class:`ReportError` naming every failure is raised at the end.
    """
    if isinstance(run_dir, RunModel):
        model = run_dir
        target = Path(out) if out is not None else model.path
    else:
        model = load_run(run_dir)
        given = Path(run_dir)
        target = Path(out) if out is not None else (given if given.is_dir() else given.parent)
    target.mkdir(parents=True, exist_ok=True)
    chosen = parse_formats(list(formats))
    written: dict[str, list[Path]] = {}
    failures: list[str] = []
    for fmt in chosen:
        try:
            if fmt == "terminal":
                written[fmt] = [_atomic_write(target / "report.txt", format_terminal(model))]
            elif fmt == "markdown":
                text = format_markdown(model)
                paths = [_atomic_write(target / "report.md", text)]
                if step_summary:
                    summary = write_step_summary(text, env)
                    if summary is not None:
                        paths.append(summary)
                written[fmt] = paths
            elif fmt == "junit":
                xml = format_junit(model)
                if importlib.util.find_spec("xmlschema") is not None:
                    validate_junit(xml)
                written[fmt] = [_atomic_write(target / "junit.xml", xml)]
            elif fmt == "html":
                written[fmt] = _write_html(model, target)
            elif fmt == "json":
                written[fmt] = [write_baseline(model, target / "baseline.json")]
            elif fmt == "csv":
                written[fmt] = write_tables(model, target)
        except Exception as exc:  # one broken format must not lose the others
            logger.exception("%s report failed", fmt)
            failures.append(f"{fmt}: {type(exc).__name__}: {exc}")
    if failures:
        raise ReportError("report(s) failed: " + "; ".join(failures))
    return written
