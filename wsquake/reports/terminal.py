"""The terminal report (rich): verdict tree, thresholds, recovery percentiles and phases,
worst sessions, failing examples.

:func:`format_terminal` renders plain text at a given width (what ``report.txt`` holds and
what tests read); :func:`print_terminal` prints the same to a console, in colour only when
it is a terminal. Everything shown comes from the :class:`~wsquake.reports.model.RunModel`
frames, formatted with :func:`~wsquake.reports.model.format_value`.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import TextIO

import pandas as pd
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from wsquake.reports.model import RunModel, format_value

__all__ = ["PHASE_COLUMNS", "RECOVERY_COLUMNS", "format_terminal", "phase_table",
           "print_terminal", "recovery_table", "renderables", "worst_sessions"]

VERDICT_STYLE = {"pass": "green", "fail": "bold red", "unknown": "yellow", "error": "magenta"}
#: Recovery metrics shown per scenario (``recovery.<name>``), in this order.
RECOVERY_COLUMNS = ("rate", "p50_s", "p95_s", "p99_s", "max_s", "disrupted", "never")
#: Recovery phase p95s (``recovery.<name>``): detect → reconnect → resubscribe → caught up.
PHASE_COLUMNS = ("detect_p95_s", "reconnect_p95_s", "resubscribe_p95_s", "caught_up_p95_s")
WORST_SESSIONS = 5


def _verdict(verdict: str, *, interrupted: bool = False) -> Text:
    label = verdict.upper() + (" (interrupted)" if interrupted else "")
    return Text(label, style=VERDICT_STYLE.get(verdict, ""))


def recovery_table(model: RunModel,
                   columns: tuple[str, ...] = RECOVERY_COLUMNS) -> pd.DataFrame:
    """One row per scenario with a ``recovery`` check: its ``recovery.<columns>``."""
    m = model.metrics[model.metrics["check"] == "recovery"]
    if m.empty:
        return pd.DataFrame(columns=["scenario", *columns])
    wide = m.pivot_table(index="scenario", columns="metric", values="value",
                         aggfunc="first", dropna=False, sort=False)
    wide = wide.reindex(columns=list(columns))
    order = [s for s in model.scenario_names if s in wide.index]
    return wide.reindex(order).reset_index()


def phase_table(model: RunModel) -> pd.DataFrame:
    """Per scenario with a disruption: the :data:`PHASE_COLUMNS` (all-NaN rows dropped)."""
    frame = recovery_table(model, PHASE_COLUMNS)
    return frame.dropna(how="all", subset=list(PHASE_COLUMNS)).reset_index(drop=True)


def worst_sessions(model: RunModel, limit: int = WORST_SESSIONS) -> pd.DataFrame:
    """Per scenario, the clients with the longest outages (losses only), worst first."""
    parts = []
    for name in model.scenario_names:
        table = model.sessions(name)
        table = table[table["losses"] > 0].head(limit)
        if len(table):
            parts.append(table.assign(scenario=name))
    if not parts:
        return pd.DataFrame(columns=["scenario", "client_id", "role", "losses",
                                     "unrecovered", "longest_outage_s", "total_outage_s"])
    return pd.concat(parts, ignore_index=True)


def _tree(model: RunModel) -> Tree:
    title = Text.assemble(("run ", "bold"), (model.run_id, "bold"), "  ",
                          _verdict(model.verdict, interrupted=model.interrupted))
    tree = Tree(title, guide_style="dim")
    checks = model.checks
    thresholds = model.thresholds
    for s in model.scenarios.itertuples(index=False):
        label = Text.assemble((str(s.scenario), "bold"), "  ",
                              _verdict(str(s.verdict), interrupted=bool(s.interrupted)),
                              f"  {format_value(s.duration_s)} s")
        node = tree.add(label)
        if s.error:
            node.add(Text("harness error: " + str(s.error), style="magenta"))
        for c in checks[checks["scenario"] == s.scenario].itertuples(index=False):
            cnode = node.add(Text.assemble((str(c.check), "bold"), "  ",
                                           _verdict(str(c.verdict)), f"  {c.summary}"))
            bad = thresholds[(thresholds["scenario"] == s.scenario)
                             & (thresholds["check"] == c.check)
                             & (thresholds["verdict"] != "pass")]
            for t in bad.itertuples(index=False):
                cnode.add(Text.assemble(_verdict(str(t.verdict)),
                                        f"  {t.expr}  (measured {format_value(t.measured)})"))
    return tree


def _thresholds(model: RunModel) -> Table | None:
    if model.thresholds.empty:
        return None
    table = Table(title="thresholds", box=box.SIMPLE_HEAD, pad_edge=False,
                  title_justify="left")
    table.add_column("scenario", overflow="fold")
    table.add_column("threshold", overflow="fold")
    table.add_column("measured", justify="right")
    table.add_column("verdict")
    for t in model.thresholds.itertuples(index=False):
        table.add_row(str(t.scenario), str(t.expr), format_value(t.measured),
                      _verdict(str(t.verdict)))
    return table


def _recovery(model: RunModel) -> Table | None:
    frame = recovery_table(model)
    if frame.empty:
        return None
    table = Table(title="recovery (scenario seconds)", box=box.SIMPLE_HEAD, pad_edge=False,
                  title_justify="left")
    table.add_column("scenario", overflow="fold", min_width=17)
    for col in RECOVERY_COLUMNS:
        table.add_column(col.removesuffix("_s"), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(str(row[0]), *(format_value(v) for v in row[1:]))
    return table


def _phases(model: RunModel) -> Table | None:
    frame = phase_table(model)
    if frame.empty:
        return None
    table = Table(title="recovery phases, p95 (scenario seconds)", box=box.SIMPLE_HEAD,
                  pad_edge=False, title_justify="left")
    table.add_column("scenario", overflow="fold", min_width=17)
    for col in PHASE_COLUMNS:
        table.add_column(col.removesuffix("_p95_s").replace("_", " "), justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(str(row[0]), *(format_value(v) for v in row[1:]))
    return table


def _sessions(model: RunModel) -> Table | None:
    frame = worst_sessions(model)
    if frame.empty:
        return None
    table = Table(title="worst sessions (longest outage, scenario seconds)",
                  box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.add_column("scenario", overflow="fold")
    table.add_column("client", overflow="fold")
    table.add_column("role")
    table.add_column("losses", justify="right")
    table.add_column("longest", justify="right")
    table.add_column("total", justify="right")
    for r in frame.itertuples(index=False):
        longest = format_value(r.longest_outage_s) + (" never" if r.unrecovered else "")
        table.add_row(str(r.scenario), str(r.client_id), str(r.role), format_value(r.losses),
                      longest, format_value(r.total_outage_s))
    return table


def _examples(model: RunModel) -> Table | None:
    if model.examples.empty:
        return None
    table = Table(title="failing examples", box=box.SIMPLE_HEAD, pad_edge=False,
                  title_justify="left")
    table.add_column("scenario/check", overflow="fold")
    table.add_column("client", overflow="fold")
    table.add_column("outcome")
    table.add_column("detail", overflow="fold")
    for e in model.examples.itertuples(index=False):
        table.add_row(f"{e.scenario}/{e.check}", f"{e.component} {e.client_id}".strip(),
                      str(e.outcome), str(e.detail))
    return table


def renderables(model: RunModel, *, sessions: bool = True) -> Iterator[RenderableType]:
    """The report's parts in order (``sessions=False`` skips reading the histories)."""
    yield _tree(model)
    for part in (_thresholds(model), _recovery(model), _phases(model),
                 _sessions(model) if sessions else None, _examples(model)):
        if part is not None:
            yield Text("")
            yield part


def format_terminal(model: RunModel, width: int = 80, *, sessions: bool = True) -> str:
    """The report as plain text (no colour, no control codes) at ``width`` columns."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None,
                      force_terminal=False, highlight=False, emoji=False, soft_wrap=False)
    for part in renderables(model, sessions=sessions):
        console.print(part)
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
    matrix = model.path / "defects-matrix.txt"  # written by `wsquake suite defects`
    try:
        if matrix.is_file():
            text += "\n" + matrix.read_text(encoding="utf-8")
    except OSError:
        pass
    return text


def print_terminal(model: RunModel, file: TextIO | None = None, *,
                   sessions: bool = True) -> None:
    """Print the report; colour only when ``file`` is a terminal (rich decides)."""
    console = Console(file=file or sys.stdout, highlight=False, emoji=False)
    for part in renderables(model, sessions=sessions):
        console.print(part)
