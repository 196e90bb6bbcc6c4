"""A compact Markdown summary for pull-request comments and CI step summaries.

:func:`format_markdown` gives the text (``report.md``): the run verdict, one table row per
scenario (verdict, checks, recovery p95, losses after recovery, wall time), every
threshold that did not pass, harness errors, and the full thresholds table folded in a
``<details>`` block. :func:`write_step_summary` appends it to ``$GITHUB_STEP_SUMMARY``
when that variable is set (GitHub Actions).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wsquake.reports.model import RunModel, format_value

__all__ = ["format_markdown", "write_step_summary"]

_ICON = {"pass": "✅", "fail": "❌", "unknown": "⚠️", "error": "💥"}


def _float(value: Any) -> float:
    return float(value)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _verdict(verdict: str) -> str:
    return f"{_ICON.get(verdict, '')} {verdict}".strip()


def format_markdown(model: RunModel) -> str:
    lines: list[str] = []
    state = " (interrupted)" if model.interrupted else ""
    lines.append(f"## wsquake `{model.run_id}`: {_verdict(model.verdict)}{state}")
    lines.append("")
    lines.append("| scenario | verdict | checks | recovery p95 s | lost after recovery | wall s |")
    lines.append("|---|---|---|---:|---:|---:|")
    checks = model.checks
    for s in model.scenarios.itertuples(index=False):
        own = checks[checks["scenario"] == s.scenario]
        passed = int((own["verdict"] == "pass").sum())
        verdict = _verdict(str(s.verdict)) + (" (interrupted)" if s.interrupted else "")
        lines.append(
            f"| {_cell(s.scenario)} | {verdict} | {passed}/{len(own)} pass "
            f"| {format_value(model.metric(str(s.scenario), 'recovery.p95_s'))} "
            f"| {format_value(model.metric(str(s.scenario), 'delivery.lost_after_recovery'))} "
            f"| {format_value(round(_float(s.duration_s), 1))} |"
        )
    errors = model.scenarios[model.scenarios["error"].notna()
                             & (model.scenarios["error"].astype(str) != "")]
    if len(errors):
        lines += ["", "### Harness errors", ""]
        lines += [f"- **{_cell(e.scenario)}**: {_cell(e.error)}"
                  for e in errors.itertuples(index=False)]
    thresholds = model.thresholds
    bad = thresholds[thresholds["verdict"] != "pass"]
    bad_checks = checks[(checks["verdict"] != "pass")]
    if len(bad) or len(bad_checks):
        lines += ["", "### Not passing", ""]
        for c in bad_checks.itertuples(index=False):
            lines.append(f"- {_verdict(str(c.verdict))} **{_cell(c.scenario)}** · "
                         f"`{c.check}`: {_cell(c.summary)}")
        for t in bad.itertuples(index=False):
            lines.append(f"- {_verdict(str(t.verdict))} **{_cell(t.scenario)}** · "
                         f"`{t.expr}` (measured {format_value(t.measured)})")
    if len(model.examples):
        lines += ["", "<details><summary>Failing examples</summary>", ""]
        lines.append("| scenario | check | client | outcome | detail |")
        lines.append("|---|---|---|---|---|")
        for e in model.examples.itertuples(index=False):
            lines.append(f"| {_cell(e.scenario)} | {_cell(e.check)} | "
                         f"{_cell(e.client_id)} | {_cell(e.outcome)} | {_cell(e.detail)} |")
        lines += ["", "</details>"]
    if len(thresholds):
        lines += ["", "<details><summary>All thresholds</summary>", ""]
        lines.append("| scenario | threshold | measured | verdict |")
        lines.append("|---|---|---:|---|")
        for t in thresholds.itertuples(index=False):
            lines.append(f"| {_cell(t.scenario)} | `{t.expr}` | {format_value(t.measured)} "
                         f"| {_verdict(str(t.verdict))} |")
        lines += ["", "</details>"]
    extra = _section(model, "defects-matrix.md")  # written by `wsquake suite defects`
    if extra:
        lines += ["", extra.rstrip()]
    return "\n".join(lines) + "\n"


def _section(model: RunModel, name: str) -> str | None:
    """An extra section a suite left in the run directory (e.g. the defect matrix)."""
    path = model.path / name
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except OSError:
        return None


def write_step_summary(text: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` if set; the file written, else None."""
    target = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
    return path
