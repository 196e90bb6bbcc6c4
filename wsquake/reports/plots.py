"""The report's figures: matplotlib (Agg/SVG, no pyplot state) → inline SVG strings.

Each ``plot_*`` function draws one DataFrame of :mod:`wsquake.reports.series` and returns
a :class:`Plot` whose ``svg`` can be pasted into HTML as is. Rules every figure follows:

* **Fault windows shaded on every timeline** (grey, hatched ``//``, in the legend as
  "fault window"); each shaded span is an SVG group with id ``<plot id>-fault-<n>``.
* **Accessible**: the Okabe-Ito colour-blind-safe palette, and never colour alone —
  series also differ by line style, marker or hatch; labels at 10 pt or more; text kept
  as text (``svg.fonttype = none``) so it scales and can be read by assistive tools; the
  ``<svg>`` carries ``role="img"`` and an ``aria-label``.
* **Deterministic**: a fixed ``svg.hashsalt`` per plot id (so ids are stable and unique
  within a page), no date or creator metadata, no XML prolog: the same frames give
  byte-identical SVG.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from wsquake.reports.series import (  # noqa: E402
    RECOVERY_PHASES,
    Swimlanes,
    latency_quantiles,
)

__all__ = [
    "FAULT_HATCH",
    "PALETTE",
    "Plot",
    "plot_cloud_metrics",
    "plot_connected",
    "plot_delivery",
    "plot_phases",
    "plot_swimlanes",
    "plot_traffic",
    "plot_ttr_cdf",
]

#: Okabe & Ito (2008), safe for the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000",
}
_CYCLE = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky",
                               "black")]
_STYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)), (0, (3, 1, 1, 1, 1, 1))]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]
FAULT_COLOUR = "#999999"
#: Above this many points a scatter becomes binned quantiles and a CDF is thinned.
MAX_POINTS = 1500
FAULT_HATCH = "//"
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "hatch.color": "#666666",
    "hatch.linewidth": 0.6,
}


@dataclass(frozen=True, slots=True)
class Plot:
    """One figure: ``id`` (unique in a page), ``title``, ``alt`` text and inline ``svg``."""

    id: str
    title: str
    alt: str
    svg: str


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_ID = re.compile(r'\b(id)="([^"]+)"')
_REF = re.compile(r'(url\(|xlink:href="|href=")#([^")]+)')


def _rc(plot_id: str) -> Any:
    return {**_RC, "svg.hashsalt": f"wsquake-{plot_id}"}


@contextmanager
def _figure(plot_id: str, height: float, nrows: int = 1, sharex: bool = True,
            width: float = 10.0) -> Iterator[tuple[Figure, list[Axes]]]:
    with rc_context(_rc(plot_id)):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, 1, sharex=sharex, squeeze=False)[:, 0].tolist()
        yield fig, axes


def _render(fig: Figure, plot_id: str, title: str, alt: str) -> Plot:
    with rc_context(_rc(plot_id)):
        buf = io.StringIO()
        FigureCanvasSVG(fig)
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None,
                                                 "Format": None, "Type": None})
    svg = _METADATA.sub("", _PROLOG.sub("", buf.getvalue(), count=1), count=1)
    # ids unique within a page that holds several figures
    svg = _ID.sub(lambda m: f'{m.group(1)}="{plot_id}-{m.group(2)}"', svg)
    svg = _REF.sub(lambda m: f"{m.group(1)}#{plot_id}-{m.group(2)}", svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{escape(alt)}" '
                      f'class="plot" data-plot="{escape(plot_id)}" ', 1)
    return Plot(plot_id, title, alt, svg.strip() + "\n")


def _shade(ax: Axes, faults: pd.DataFrame, plot_id: str, panel: int = 0) -> None:
    for i, (start, end) in enumerate(zip(faults["start_s"], faults["end_s"], strict=True)):
        width = max(float(end) - float(start), 1e-9)
        span = ax.axvspan(float(start), float(start) + width, facecolor=FAULT_COLOUR,
                          alpha=0.3, hatch=FAULT_HATCH, edgecolor="#555555", linewidth=0.8,
                          zorder=0)
        span.set_gid(f"fault-{i}" if panel == 0 else f"p{panel}-fault-{i}")
        # edges stay visible when a window is narrow next to the whole timeline
        for x in (float(start), float(end)):
            ax.axvline(x, color="#555555", linewidth=0.8, linestyle=(0, (2, 2)), zorder=0.5)


def _fault_handle() -> Patch:
    return Patch(facecolor=FAULT_COLOUR, alpha=0.3, hatch=FAULT_HATCH, edgecolor="#555555",
                 label="fault window")


def _legend(ax: Axes, faults: pd.DataFrame, ncol: int = 4) -> None:
    handles, _labels = ax.get_legend_handles_labels()
    if len(faults):
        handles.append(_fault_handle())
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.18), ncol=ncol,
                  frameon=False)


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            color="#444444", fontsize=11)


def _xlim(ax: Axes, faults: pd.DataFrame, *series: pd.Series) -> None:
    values = [np.asarray(s, dtype=float) for s in series if len(s)]
    values += [faults["start_s"].to_numpy(float), faults["end_s"].to_numpy(float)]
    flat = np.concatenate(values) if values else np.array([])
    flat = flat[np.isfinite(flat)]
    if flat.size:
        lo, hi = float(flat.min()), float(flat.max())
        pad = max((hi - lo) * 0.02, 0.5)
        ax.set_xlim(max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad)


def plot_connected(conn: pd.DataFrame, faults: pd.DataFrame, plot_id: str = "connected") -> Plot:
    """Connected glasses and apps (acknowledged sockets) over time, faults shaded."""
    title = "Connected glasses and apps"
    with _figure(plot_id, 3.0) as (fig, (ax,)):
        _shade(ax, faults, plot_id)
        for i, role in enumerate(("glasses", "app")):
            part = conn[conn["role"] == role]
            if part.empty:
                continue
            # glasses wide and solid under apps narrow and dashed: both show when equal
            ax.step(part["t_s"], part["connected"], where="post", color=_CYCLE[i],
                    linestyle=_STYLES[i], linewidth=3.2 if i == 0 else 1.8,
                    label=f"{role} connected")
        if conn.empty:
            _empty(ax, "no client connection was acknowledged")
        _xlim(ax, faults, conn["t_s"])
        ax.set_ylim(bottom=0)
        ax.set_xlabel("scenario time (s)")
        ax.set_ylabel("sockets")
        _legend(ax, faults)
        alt = (f"{title}: step lines per role over scenario time; "
               f"{len(faults)} fault window(s) shaded")
        return _render(fig, plot_id, title, alt)


def plot_traffic(rate: pd.DataFrame, latency: pd.DataFrame, faults: pd.DataFrame,
                 plot_id: str = "traffic") -> Plot:
    """Message rate (top) and end-to-end probe latency (bottom), faults shaded on both."""
    title = "Message rate and end-to-end probe latency"
    with _figure(plot_id, 4.6, nrows=2) as (fig, (top, bottom)):
        _shade(top, faults, plot_id, 0)
        _shade(bottom, faults, plot_id, 1)
        top.plot(rate["t_s"], rate["sent_per_s"], color=_CYCLE[0], linestyle="-",
                 linewidth=1.6, label="sent by glasses")
        top.plot(rate["t_s"], rate["received_per_s"], color=_CYCLE[1], linestyle="--",
                 linewidth=1.6, label="received by apps")
        top.set_ylabel("messages / s")
        top.set_ylim(bottom=0)
        if rate["sent_per_s"].sum() == 0 and rate["received_per_s"].sum() == 0:
            _empty(top, "no stream messages")
        handles, _ = top.get_legend_handles_labels()
        if len(faults):
            handles.append(_fault_handle())
        top.legend(handles=handles, loc="upper right", frameon=True, framealpha=0.85)
        if latency.empty:
            _empty(bottom, "no echo probe was answered")
        elif len(latency) > MAX_POINTS:
            span = float(latency["t_s"].max() - latency["t_s"].min())
            q = latency_quantiles(latency, max(span / 120.0, 1e-3))
            bottom.plot(q["t_s"], q["max_ms"], color=_CYCLE[2], linestyle=":", marker=".",
                        markersize=3, linewidth=1.0, label="max")
            bottom.plot(q["t_s"], q["p95_ms"], color=_CYCLE[3], linestyle="--",
                        linewidth=1.4, label="p95")
            bottom.plot(q["t_s"], q["p50_ms"], color=PALETTE["black"], linestyle="-",
                        linewidth=1.4, label="p50")
            bottom.legend(loc="upper right", frameon=True, framealpha=0.85)
            bottom.set_ylim(bottom=0)
        else:
            bottom.plot(latency["t_s"], latency["rtt_ms"], linestyle="none", marker="o",
                        markersize=3.5, color=_CYCLE[2], label="probe round trip")
            ordered = latency.sort_values("t_s")
            med = ordered["rtt_ms"].rolling(9, center=True, min_periods=1).median()
            bottom.plot(ordered["t_s"], med, color=PALETTE["black"], linestyle="-",
                        linewidth=1.2, label="rolling median")
            bottom.legend(loc="upper right", frameon=True, framealpha=0.85)
            bottom.set_ylim(bottom=0)
        bottom.set_ylabel("round trip (ms)")
        bottom.set_xlabel("scenario time (s)")
        _xlim(bottom, faults, rate["t_s"], latency["t_s"])
        alt = (f"{title}: messages per second sent and received, and echo round-trip times "
               f"({len(latency)} probes); {len(faults)} fault window(s) shaded")
        return _render(fig, plot_id, title, alt)


def plot_ttr_cdf(cdf: pd.DataFrame, plot_id: str = "ttr-cdf") -> Plot:
    """Cumulative fraction of disrupted connections recovered within t (per role)."""
    title = "Time to recover (CDF)"
    with _figure(plot_id, 3.6, width=5.5) as (fig, (ax,)):
        roles = list(dict.fromkeys(cdf["role"]))
        for i, role in enumerate(roles):
            part = cdf[cdf["role"] == role]
            x = np.concatenate([[0.0], part["ttr_s"].to_numpy(float)])
            y = np.concatenate([[0.0], part["fraction"].to_numpy(float)])
            if x.size > MAX_POINTS:  # thin a long curve: same shape, smaller SVG
                keep = np.unique(np.linspace(0, x.size - 1, MAX_POINTS).round().astype(int))
                x, y = x[keep], y[keep]
            ax.step(x, y, where="post", color=_CYCLE[i], linestyle=_STYLES[i],
                    marker=_MARKERS[i] if x.size <= 60 else None, markersize=4,
                    linewidth=1.6,
                    label="all connections" if role == "all" else f"{role}")
        if cdf.empty:
            _empty(ax, "no disrupted connection recovered")
        ax.set_ylim(0, 1.05)
        ax.set_xlim(left=0)
        ax.set_xlabel("time to recover (scenario s)")
        ax.set_ylabel("fraction of disrupted")
        if roles:
            ax.legend(loc="lower right", frameon=True, framealpha=0.85)
        alt = f"{title}: one step curve per role ({', '.join(roles) or 'none'})"
        return _render(fig, plot_id, title, alt)


def plot_phases(breakdown: pd.DataFrame, plot_id: str = "phases") -> Plot:
    """p50 / p95 / max of detect, reconnect, resubscribe, caught up (horizontal bars)."""
    title = "Recovery phase breakdown"
    stats = (("p50_s", "p50", ""), ("p95_s", "p95", "//"), ("max_s", "max", ".."))
    with _figure(plot_id, 3.6, width=5.5) as (fig, (ax,)):
        y = np.arange(len(RECOVERY_PHASES))
        rows = breakdown.set_index("phase").reindex(list(RECOVERY_PHASES))
        height = 0.26
        for i, (col, label, hatch) in enumerate(stats):
            values = rows[col].to_numpy(float)
            ax.barh(y + (i - 1) * height, np.nan_to_num(values), height=height,
                    color=_CYCLE[i], hatch=hatch, edgecolor="#333333", linewidth=0.5,
                    label=label)
        ax.set_yticks(y, [p.replace("_", " ") for p in RECOVERY_PHASES])
        ax.invert_yaxis()
        ax.set_xlabel("scenario seconds")
        if rows["n"].fillna(0).sum() == 0:
            _empty(ax, "no disrupted connection")
        ax.legend(loc="lower right", frameon=True, framealpha=0.85)
        alt = f"{title}: p50, p95 and max seconds of each recovery phase"
        return _render(fig, plot_id, title, alt)


def plot_delivery(by_phase: pd.DataFrame, plot_id: str = "delivery") -> Plot:
    """Lost and duplicated messages by phase of the send time, with the expected count."""
    title = "Delivery loss and duplication by phase"
    with _figure(plot_id, 3.0) as (fig, (ax,)):
        x = np.arange(len(by_phase))
        width = 0.38
        lost = by_phase["lost"].to_numpy(int)
        dup = by_phase["duplicated"].to_numpy(int)
        b1 = ax.bar(x - width / 2, lost, width, color=PALETTE["vermillion"],
                    edgecolor="#333333", linewidth=0.5, label="lost")
        b2 = ax.bar(x + width / 2, dup, width, color=PALETTE["sky"], hatch="xx",
                    edgecolor="#333333", linewidth=0.5, label="duplicated")
        ax.bar_label(b1, padding=2, fontsize=9)
        ax.bar_label(b2, padding=2, fontsize=9)
        labels = [f"{p}\n({e} expected)" for p, e in
                  zip(by_phase["phase"], by_phase["expected"], strict=True)]
        ax.set_xticks(x, labels)
        ax.set_ylabel("messages")
        top = max(int(lost.max(initial=0)), int(dup.max(initial=0)), 1)
        ax.set_ylim(0, top * 1.25)
        ax.legend(loc="upper right", frameon=True, framealpha=0.85)
        if int(by_phase["expected"].sum()) == 0:
            _empty(ax, "no stream message was expected at an app")
        elif int(lost.sum()) == 0 and int(dup.sum()) == 0:
            _empty(ax, "every expected message delivered once")
        alt = (f"{title}: lost {int(lost.sum())}, duplicated {int(dup.sum())} of "
               f"{int(by_phase['expected'].sum())} expected messages")
        return _render(fig, plot_id, title, alt)


_KIND_MARKERS = {
    "connect": ("o", PALETTE["blue"]), "init": ("s", PALETTE["green"]),
    "close": ("X", PALETTE["vermillion"]), "subscribe": ("^", PALETTE["purple"]),
    "reconnect_wait": ("|", PALETTE["black"]), "give_up": ("*", PALETTE["vermillion"]),
    "webhook": ("D", PALETTE["orange"]), "start_app": ("P", PALETTE["sky"]),
    "app_state": ("v", PALETTE["sky"]), "app_stopped": ("<", PALETTE["black"]),
    "duplicate_session": (">", PALETTE["vermillion"]),
}


def _short(client: str, limit: int = 30) -> str:
    """Middle-elided, so ``user-0001@…wsquake.app1`` keeps the user and the package."""
    if len(client) <= limit:
        return client
    head = (limit - 1) // 2
    return client[:head] + "…" + client[-(limit - 1 - head):]


def plot_swimlanes(lanes: Swimlanes, faults: pd.DataFrame,
                   plot_id: str = "swimlanes") -> Plot:
    """One lane per session (worst first): connected intervals as bars, events as marks."""
    title = "Worst sessions: connection timelines"
    n = max(len(lanes.lanes), 1)
    with _figure(plot_id, 1.4 + 0.5 * n) as (fig, (ax,)):
        _shade(ax, faults, plot_id)
        for lane in lanes.intervals["lane"].unique():
            group = lanes.intervals[lanes.intervals["lane"] == lane]
            spans = list(zip(group["start_s"], group["end_s"] - group["start_s"], strict=True))
            ax.broken_barh(spans, (float(lane) - 0.18, 0.36), facecolors="#bcd6ea",
                           edgecolors=PALETTE["blue"], linewidth=0.6)
        if len(lanes.intervals):
            ax.plot([], [], color="#bcd6ea", linewidth=6, label="connected")
        # events: only the outcomes (the invokes crowd the lanes)
        shown = lanes.events[lanes.events["outcome"] != "invoke"]
        for kind, (marker, colour) in _KIND_MARKERS.items():
            part = shown[shown["kind"] == kind]
            if part.empty:
                continue
            ax.plot(part["t_s"], part["lane"], linestyle="none", marker=marker, color=colour,
                    markersize=6, markeredgecolor="#222222", markeredgewidth=0.4,
                    label=kind.replace("_", " "))
        labels = [f"{_short(str(c))}\n{o.replace('_', ' ')}" for c, o in
                  zip(lanes.lanes["client_id"], lanes.lanes["outcome"], strict=True)]
        ax.set_yticks(np.arange(len(labels)), labels, fontsize=9)
        ax.set_ylim(n - 0.5, -0.5)
        ax.grid(axis="y", visible=False)
        if lanes.lanes.empty:
            _empty(ax, "no client sessions")
        _xlim(ax, faults, lanes.intervals["start_s"], lanes.intervals["end_s"],
              lanes.events["t_s"])
        ax.set_xlabel("scenario time (s)")
        _legend(ax, faults, ncol=5)
        alt = (f"{title}: {len(lanes.lanes)} session lane(s) with connected intervals and "
               f"events; {len(faults)} fault window(s) shaded")
        return _render(fig, plot_id, title, alt)


_GAUGE_PANEL = ("sessions", "glasses_connections", "app_connections", "app_unbound",
                "loading")


def plot_cloud_metrics(metrics: pd.DataFrame, faults: pd.DataFrame,
                       plot_id: str = "cloud-metrics",
                       counters: Sequence[str] | None = None) -> Plot:
    """Cloud gauges (top) and counters (bottom) from the probes, faults shaded on both."""
    title = "Cloud metrics over time (probes)"
    if counters is None:
        all_names = metrics["metric"].astype(str)
        totals = sorted(set(all_names[all_names.str.endswith("_total")]))
        counters = totals[:6]
    with _figure(plot_id, 4.8, nrows=2) as (fig, (top, bottom)):
        _shade(top, faults, plot_id, 0)
        _shade(bottom, faults, plot_id, 1)
        for ax, names, ylabel in ((top, _GAUGE_PANEL, "count"),
                                  (bottom, tuple(counters), "cumulative")):
            drawn = 0
            for i, name in enumerate(names):
                part = metrics[metrics["metric"] == name]
                if part.empty:
                    continue
                ax.step(part["t_s"], part["value"], where="post", color=_CYCLE[i % 7],
                        linestyle=_STYLES[i % 7], marker=_MARKERS[i % 7], markersize=3,
                        markevery=max(len(part) // 12, 1), linewidth=1.4,
                        label=name.removeprefix("m_").replace("_", " "))
                drawn += 1
            ax.set_ylabel(ylabel)
            ax.set_ylim(bottom=0)
            if drawn:
                handles, _ = ax.get_legend_handles_labels()
                if len(faults) and ax is top:
                    handles.append(_fault_handle())
                ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                          frameon=False, fontsize=8)
            else:
                _empty(ax, "no cloud probe answered")
        bottom.set_xlabel("scenario time (s)")
        _xlim(bottom, faults, metrics["t_s"])
        alt = (f"{title}: sessions and sockets the cloud reported, and its counters; "
               f"{len(faults)} fault window(s) shaded")
        return _render(fig, plot_id, title, alt)
