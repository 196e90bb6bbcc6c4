"""The time series and distributions the HTML report plots, as pandas DataFrames (pure).

Every function takes a run's :class:`~wsquake.history.frame.HistoryFrames` and a
:class:`Timebase` and returns a DataFrame; the plots (:mod:`wsquake.reports.plots`) only
draw them. Times are **scenario seconds since the first event** (wall seconds ÷
``time_scale``), the unit of the scenario's timeline and thresholds.

========================  ================================================================
function                  columns
========================  ================================================================
:func:`fault_windows`     ``fault, target, toxic, start_s, end_s``
:func:`connected`         ``t_s, role, connected`` (acknowledged client sockets, a step
                          series per role; a point at every change and at the end)
:func:`message_rate`      ``t_s, sent_per_s, received_per_s`` (bins of ``bin_s``)
:func:`probe_latency`     ``t_s, client_id, rtt_ms`` (one row per echo probe)
:func:`latency_quantiles` ``t_s, p50_ms, p95_ms, max_ms, n`` per bin (many probes)
:func:`recovery_cases`    one row per (client, fault episode): ``component, client_id,
                          role, episode, outcome, detect_s, reconnect_s, resubscribe_s,
                          caught_up_s, ttr_s, detail, start_ns, deadline_ns``
:func:`ttr_cdf`           ``role, ttr_s, fraction`` (empirical CDF of time to recover)
:func:`phase_breakdown`   ``phase, p50_s, p95_s, max_s, n`` (detect … caught up)
:func:`delivery_by_phase` ``phase, expected, delivered, lost, duplicated`` (phase of the
                          send time: steady, fault, recovery, after)
:func:`session_outcomes`  one row per client: ``component, client_id, role, connections,
                          losses, outcome, ttr_s, sent, received, lost, duplicated``
:func:`swimlanes`         ``lane, component, client_id, start_s, end_s`` (connected
                          intervals) and events ``lane, t_s, kind, outcome, label``
:func:`cloud_metrics`     ``t_s, metric, value`` (long form, from ``cloud_probe``)
========================  ================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.checkers.base import phases
from wsquake.scenarios.checkers.recovery import recovery_cases as checker_recovery_cases
from wsquake.scenarios.model import Scenario

__all__ = [
    "OUTCOME_ORDER",
    "PHASES",
    "RECOVERY_PHASES",
    "Swimlanes",
    "Timebase",
    "cloud_metrics",
    "Delivery",
    "connected",
    "delivery_by_phase",
    "delivery_pairs",
    "fault_windows",
    "latency_quantiles",
    "message_rate",
    "phase_breakdown",
    "probe_latency",
    "recovery_cases",
    "session_outcomes",
    "swimlanes",
    "ttr_cdf",
]

PHASES = ("steady", "fault", "recovery", "after")
RECOVERY_PHASES = ("detect", "reconnect", "resubscribe", "caught_up")
#: Worst first: the order sessions are ranked in.
OUTCOME_ORDER = ("never", "late", "recovered", "not_affected", "undisturbed")
CLOUD_GAUGES = ("sessions", "apps", "loading", "running", "glasses_connections",
                "app_connections", "app_unbound")
_SWIM_KINDS = ("connect", "init", "close", "subscribe", "reconnect_wait", "give_up",
               "webhook", "start_app", "app_state", "app_stopped", "duplicate_session")


@dataclass(frozen=True, slots=True)
class Timebase:
    """How wall ns become report seconds: ``(t - origin_ns) / 1e9 / time_scale``."""

    origin_ns: int
    time_scale: float = 1.0
    recovery_window_s: float = 20.0
    name: str = "scenario"

    def __post_init__(self) -> None:
        if not (isinstance(self.time_scale, int | float) and self.time_scale > 0
                and math.isfinite(self.time_scale)):
            raise ValueError(f"time_scale: must be a positive number, got {self.time_scale!r}")
        if not (isinstance(self.recovery_window_s, int | float) and self.recovery_window_s > 0):
            raise ValueError(
                f"recovery_window_s: must be a positive number, got {self.recovery_window_s!r}")

    @classmethod
    def of(cls, frames: HistoryFrames, time_scale: float = 1.0,
           recovery_window_s: float = 20.0, name: str = "scenario") -> Timebase:
        return cls(frames.start_ns, time_scale, recovery_window_s, name)

    def seconds(self, ns: pd.Series | np.ndarray | float) -> np.ndarray:
        return (np.asarray(ns, dtype=float) - self.origin_ns) / 1e9 / self.time_scale

    def duration(self, ns: pd.Series | np.ndarray | float) -> np.ndarray:
        return np.asarray(ns, dtype=float) / 1e9 / self.time_scale

    def scenario(self) -> Scenario:
        """A minimal :class:`Scenario` carrying the timings the checkers' helpers need."""
        return Scenario(name="report", description=self.name, time_scale=self.time_scale,
                        recovery_window_s=self.recovery_window_s)


def fault_windows(frames: HistoryFrames, tb: Timebase) -> pd.DataFrame:
    f = frames.faults
    return pd.DataFrame({
        "fault": f["fault"].astype(str).to_numpy(),
        "target": f["target"].astype(str).to_numpy(),
        "toxic": f["toxic"].astype(str).to_numpy(),
        "start_s": tb.seconds(f["start_ns"]),
        "end_s": tb.seconds(f["end_ns"]),
    })


def connected(frames: HistoryFrames, tb: Timebase) -> pd.DataFrame:
    """Acknowledged client sockets per role over time (+1 at ``init ok``, -1 at close)."""
    c = frames.connections
    c = c[c["acked_ns"].notna() & c["role"].isin(["glasses", "app"])]
    if c.empty:
        return pd.DataFrame({"t_s": pd.Series(dtype=float), "role": pd.Series(dtype=object),
                             "connected": pd.Series(dtype="int64")})
    ups = pd.DataFrame({"t": c["acked_ns"].astype("int64"), "role": c["role"].astype(str),
                        "d": 1})
    closed = c[c["closed_ns"].notna() & (c["closed_ns"] >= c["acked_ns"])]
    downs = pd.DataFrame({"t": closed["closed_ns"].astype("int64"),
                          "role": closed["role"].astype(str), "d": -1})
    steps = pd.concat([ups, downs]).sort_values(["t", "d"], kind="stable")
    steps["connected"] = steps.groupby("role")["d"].cumsum()
    steps = steps.groupby(["role", "t"], as_index=False).last()
    # hold each role's last value to the end of the history
    last = steps.groupby("role", as_index=False).last()
    last = last[last["t"] < frames.end_ns].assign(t=frames.end_ns)
    steps = pd.concat([steps, last], ignore_index=True)
    out = pd.DataFrame({"t_s": tb.seconds(steps["t"]), "role": steps["role"].to_numpy(),
                        "connected": steps["connected"].astype("int64").to_numpy()})
    return out.sort_values(["role", "t_s"], kind="stable").reset_index(drop=True)


def message_rate(frames: HistoryFrames, tb: Timebase, bin_s: float | None = None) -> pd.DataFrame:
    """Stream messages sent (glasses) and received (apps) per scenario second, binned."""
    end_s = float(tb.seconds(frames.end_ns)) if len(frames) else 0.0
    if bin_s is None:
        bin_s = _nice(max(end_s / 30.0, 0.5))
    if not bin_s > 0:
        raise ValueError(f"bin_s: must be > 0, got {bin_s!r}")
    n = max(int(math.ceil(end_s / bin_s)), 1)
    edges = np.arange(n + 1) * bin_s
    sent = np.histogram(tb.seconds(frames.sends["t"]), bins=edges)[0]
    received = np.histogram(tb.seconds(frames.receives["t"]), bins=edges)[0]
    return pd.DataFrame({"t_s": edges[:-1] + bin_s / 2, "sent_per_s": sent / bin_s,
                         "received_per_s": received / bin_s})


def _nice(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k that is >= x (bins on round seconds)."""
    exp = 10.0 ** math.floor(math.log10(x))
    return next(m * exp for m in (1, 2, 5, 10) if m * exp >= x * (1 - 1e-9))


def probe_latency(frames: HistoryFrames, tb: Timebase) -> pd.DataFrame:
    e = frames.echoes.dropna(subset=["rtt_ms"])
    return pd.DataFrame({"t_s": tb.seconds(e["t"]), "client_id": e["client_id"].astype(str)
                         .to_numpy(), "rtt_ms": e["rtt_ms"].astype(float).to_numpy()})


def latency_quantiles(latency: pd.DataFrame, bin_s: float) -> pd.DataFrame:
    """p50 / p95 / max round trip per time bin (for runs with too many probes to plot one
    by one): ``t_s`` (bin centre), ``p50_ms``, ``p95_ms``, ``max_ms``, ``n``."""
    if not bin_s > 0:
        raise ValueError(f"bin_s: must be > 0, got {bin_s!r}")
    cols = ["t_s", "p50_ms", "p95_ms", "max_ms", "n"]
    if latency.empty:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    b = np.floor(latency["t_s"].to_numpy(dtype=float) / bin_s).astype("int64")
    grouped = latency.assign(bin=b).groupby("bin")["rtt_ms"]
    out = pd.DataFrame({"p50_ms": grouped.median(), "p95_ms": grouped.quantile(0.95),
                        "max_ms": grouped.max(), "n": grouped.size()})
    out["t_s"] = (out.index.to_numpy(dtype=float) + 0.5) * bin_s
    return out.reset_index(drop=True)[cols]


_CASE_COLUMNS = ["component", "client_id", "role", "episode", "outcome", "detect_s",
                 "reconnect_s", "resubscribe_s", "caught_up_s", "ttr_s", "detail",
                 "start_ns", "deadline_ns"]


def recovery_cases(frames: HistoryFrames, tb: Timebase,
                   roles: tuple[str, ...] = ("glasses", "app")) -> pd.DataFrame:
    """Every (client, episode) as the ``recovery`` checker judges it, phases in seconds."""
    cases, _ = checker_recovery_cases(frames, tb.scenario(), roles)
    rows: list[dict[str, object]] = [
        {
            "component": case.key[0], "client_id": case.key[1], "role": case.role,
            "episode": case.episode, "outcome": case.outcome,
            "detect_s": float(tb.duration(case.detect)),
            "reconnect_s": float(tb.duration(case.reconnect)),
            "resubscribe_s": float(tb.duration(case.resubscribe)),
            "caught_up_s": float(tb.duration(case.caught_up)),
            "ttr_s": float(tb.duration(case.total)),
            "detail": case.detail, "start_ns": case.start_ns,
            "deadline_ns": case.deadline_ns,
        }
        for case in cases
    ]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _CASE_COLUMNS})
    return pd.DataFrame(rows, columns=_CASE_COLUMNS)


def ttr_cdf(cases: pd.DataFrame) -> pd.DataFrame:
    """Empirical CDF of the time to recover (recovered and late) of ``all`` disrupted
    connections, and per role when both roles were disrupted. ``fraction`` counts the
    ``never`` ones in its denominator."""
    done = cases[cases["outcome"].isin(["recovered", "late"])]
    disrupted = cases[cases["outcome"].isin(["recovered", "late", "never"])]
    parts = []
    roles = sorted(disrupted["role"].unique())
    per_role = [(r, done[done["role"] == r]) for r in roles] if len(roles) > 1 else []
    for role, group in [("all", done), *per_role]:
        total = len(disrupted) if role == "all" else int((disrupted["role"] == role).sum())
        ttr = np.sort(group["ttr_s"].to_numpy(dtype=float))
        if ttr.size == 0:
            continue
        # "never" counts in the denominator: the curve stops below 1.0 when some never recover
        parts.append(pd.DataFrame({"role": role, "ttr_s": ttr,
                                   "fraction": np.arange(1, ttr.size + 1) / total}))
    if not parts:
        return pd.DataFrame({"role": pd.Series(dtype=object), "ttr_s": pd.Series(dtype=float),
                             "fraction": pd.Series(dtype=float)})
    return pd.concat(parts, ignore_index=True)


def phase_breakdown(cases: pd.DataFrame) -> pd.DataFrame:
    """p50 / p95 / max of each recovery phase over the disrupted cases that reached it."""
    disrupted = cases[cases["outcome"].isin(["recovered", "late", "never"])]
    rows = []
    for phase in RECOVERY_PHASES:
        v = disrupted[f"{phase}_s"].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        rows.append({"phase": phase, "n": int(v.size),
                     "p50_s": float(np.percentile(v, 50)) if v.size else np.nan,
                     "p95_s": float(np.percentile(v, 95)) if v.size else np.nan,
                     "max_s": float(v.max()) if v.size else np.nan})
    return pd.DataFrame(rows, columns=["phase", "p50_s", "p95_s", "max_s", "n"])


_RECEIVER = ["component", "client_id"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """(receiver, message) pairs as the ``delivery`` checker counts them, on integer keys.

    ``pairs``: ``rkey, t_sent, t_rx`` (NaN = lost), ``phase`` of the send; ``dups``: one
    row per extra receive, ``rkey, phase``; ``receivers``: ``rkey, component, client_id``.
    """

    pairs: pd.DataFrame
    dups: pd.DataFrame
    receivers: pd.DataFrame


def _codes(*columns: pd.Series) -> list[np.ndarray]:
    """Shared integer codes for string columns (one factorisation over all of them)."""
    joined = pd.concat([c.astype("object") for c in columns], ignore_index=True)
    codes, _ = pd.factorize(joined, use_na_sentinel=True)
    out, start = [], 0
    for c in columns:
        out.append(codes[start:start + len(c)].astype("int64"))
        start += len(c)
    return out


def delivery_pairs(frames: HistoryFrames, tb: Timebase, inflight_s: float = 1.0) -> Delivery:
    """Every (app receiver, message sent on a stream it receives) pair, from the first
    message it got; messages still in flight at the end (``inflight_s``) are left out."""
    sends, rx = frames.sends, frames.receives
    empty = Delivery(
        pd.DataFrame({"rkey": pd.Series(dtype="int64"), "t_sent": pd.Series(dtype=float),
                      "t_rx": pd.Series(dtype=float), "phase": pd.Series(dtype=object)}),
        pd.DataFrame({"rkey": pd.Series(dtype="int64"), "phase": pd.Series(dtype=object)}),
        pd.DataFrame({"rkey": pd.Series(dtype="int64"), "component": pd.Series(dtype=object),
                      "client_id": pd.Series(dtype=object)}))
    if sends.empty or rx.empty:
        return empty
    su, ru = _codes(sends["user"], rx["user"])
    ss, rs = _codes(sends["stream"], rx["stream"])
    n_streams = int(max(ss.max(initial=0), rs.max(initial=0))) + 1
    seq_s = sends["seq"].to_numpy(dtype="int64")
    seq_r = rx["seq"].to_numpy(dtype="int64")
    width = int(max(seq_s.max(initial=0), seq_r.max(initial=0))) + 1
    s_stream = su * n_streams + ss
    r_stream = ru * n_streams + rs
    comp, client = _codes(rx["component"].astype(str)), _codes(rx["client_id"].astype(str))
    rkey = comp[0] * (int(client[0].max(initial=0)) + 1) + client[0]
    send = pd.DataFrame({"skey": s_stream, "mkey": s_stream * width + seq_s,
                         "t_sent": sends["t"].to_numpy(dtype="int64")})
    send = send.drop_duplicates("mkey", keep="first")
    recv = pd.DataFrame({"rkey": rkey, "skey": r_stream, "mkey": r_stream * width + seq_r,
                         "t_rx": rx["t"].to_numpy(dtype="int64")})
    dup_mask = recv.duplicated(["rkey", "mkey"], keep="first").to_numpy()
    firsts = recv.loc[~dup_mask]
    receivers = firsts[["rkey", "skey"]].drop_duplicates()
    expected = send.merge(receivers, on="skey", how="inner")
    pairs = expected.merge(firsts[["rkey", "mkey", "t_rx"]], on=["rkey", "mkey"], how="left")
    got = pairs["t_rx"].notna()
    joined = pairs.loc[got].groupby(["rkey", "skey"])["t_sent"].min().rename("joined")
    pairs = pairs.merge(joined.reset_index(), on=["rkey", "skey"], how="left")
    last_data = max(int(sends["t"].max()), int(rx["t"].max()))
    inflight_ns = inflight_s * tb.time_scale * 1e9
    in_flight = (pairs["t_sent"] > last_data - inflight_ns) & pairs["t_rx"].isna()
    pairs = pairs[(pairs["t_sent"] >= pairs["joined"]) & ~in_flight]
    scenario = tb.scenario()
    out = pd.DataFrame({"rkey": pairs["rkey"].to_numpy(),
                        "t_sent": pairs["t_sent"].to_numpy(dtype=float),
                        "t_rx": pairs["t_rx"].to_numpy(dtype=float)})
    out["phase"] = phases(out["t_sent"].to_numpy(), frames, scenario)
    dups = recv.loc[dup_mask, ["rkey", "mkey"]].merge(send[["mkey", "t_sent"]], on="mkey",
                                                      how="left")
    t_sent = dups["t_sent"].fillna(frames.end_ns).to_numpy(dtype="int64")
    dup_frame = pd.DataFrame({"rkey": dups["rkey"].to_numpy(dtype="int64"),
                              "phase": phases(t_sent, frames, scenario) if len(dups)
                              else np.array([], dtype=object)})
    names = pd.DataFrame({"rkey": rkey, "component": rx["component"].astype(str).to_numpy(),
                          "client_id": rx["client_id"].astype(str).to_numpy()})
    return Delivery(out, dup_frame, names.drop_duplicates("rkey").reset_index(drop=True))


def delivery_by_phase(frames: HistoryFrames, tb: Timebase, inflight_s: float = 1.0,
                      delivery: Delivery | None = None) -> pd.DataFrame:
    """Messages expected / delivered / lost / duplicated, by the phase of the send time."""
    d = delivery if delivery is not None else delivery_pairs(frames, tb, inflight_s)
    pairs, dups = d.pairs, d.dups
    rows = []
    for phase in PHASES:
        p = pairs[pairs["phase"] == phase]
        delivered = int(p["t_rx"].notna().sum())
        rows.append({"phase": phase, "expected": len(p), "delivered": delivered,
                     "lost": len(p) - delivered,
                     "duplicated": int((dups["phase"] == phase).sum())})
    return pd.DataFrame(rows, columns=["phase", "expected", "delivered", "lost", "duplicated"])


def session_outcomes(frames: HistoryFrames, tb: Timebase, cases: pd.DataFrame,
                     inflight_s: float = 1.0, delivery: Delivery | None = None
                     ) -> pd.DataFrame:
    """One row per client, worst first: its connections, losses, worst recovery outcome,
    worst time to recover, and (apps) messages received, lost and duplicated."""
    cols = ["component", "client_id", "role", "connections", "losses", "outcome", "ttr_s",
            "sent", "received", "lost", "duplicated"]
    clients = pd.concat([frames.clients("glasses").assign(role="glasses"),
                         frames.clients("app").assign(role="app")], ignore_index=True)
    if clients.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    clients = clients.astype({"component": str, "client_id": str})[
        ["component", "client_id", "role"]]

    def count(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        if frame.empty:
            return pd.DataFrame({"component": pd.Series(dtype=str),
                                 "client_id": pd.Series(dtype=str), name: pd.Series(dtype=int)})
        f = frame.astype({"component": str, "client_id": str})
        return f.groupby(_RECEIVER).size().rename(name).reset_index()

    conns = frames.connections
    table = clients
    table = table.merge(count(conns, "connections"), on=_RECEIVER, how="left")
    table = table.merge(count(frames.losses, "losses"), on=_RECEIVER, how="left")
    table = table.merge(count(frames.sends, "sent"), on=_RECEIVER, how="left")
    d = delivery if delivery is not None else delivery_pairs(frames, tb, inflight_s)
    per = pd.DataFrame({"rkey": d.receivers["rkey"]})
    per["received"] = per["rkey"].map(d.pairs.loc[d.pairs["t_rx"].notna(), "rkey"]
                                      .value_counts()).fillna(0)
    per["lost"] = per["rkey"].map(d.pairs.loc[d.pairs["t_rx"].isna(), "rkey"]
                                  .value_counts()).fillna(0)
    per["duplicated"] = per["rkey"].map(d.dups["rkey"].value_counts()).fillna(0)
    per = per.merge(d.receivers, on="rkey").drop(columns="rkey")
    table = table.merge(per, on=_RECEIVER, how="left")
    for col in ("connections", "losses", "sent", "received", "lost", "duplicated"):
        table[col] = table[col].fillna(0).astype("int64")
    rank = {o: i for i, o in enumerate(OUTCOME_ORDER)}
    if not cases.empty:
        c = cases.assign(rank=cases["outcome"].map(rank))
        worst = c.sort_values(["rank", "ttr_s"], ascending=[True, False], kind="stable") \
            .drop_duplicates(_RECEIVER)
        worst_ttr = c.groupby(_RECEIVER)["ttr_s"].max().rename("ttr_s").reset_index()
        table = table.merge(worst[[*_RECEIVER, "outcome"]], on=_RECEIVER, how="left")
        table = table.merge(worst_ttr, on=_RECEIVER, how="left")
    else:
        table["outcome"] = None
        table["ttr_s"] = np.nan
    table["outcome"] = table["outcome"].fillna("undisturbed").astype(str)
    table["ttr_s"] = table["ttr_s"].astype(float)
    table["_rank"] = table["outcome"].map(rank)
    table["_bad"] = table["lost"] + table["duplicated"]
    table = table.sort_values(["_rank", "ttr_s", "_bad", "losses", "client_id"],
                              ascending=[True, False, False, False, True],
                              na_position="last", kind="stable")
    return table[cols].reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class Swimlanes:
    """Lanes for the worst sessions: connected intervals and the events on each lane."""

    lanes: pd.DataFrame      # lane, component, client_id, role, outcome
    intervals: pd.DataFrame  # lane, start_s, end_s (a socket acknowledged → closed)
    events: pd.DataFrame     # lane, t_s, kind, outcome, label


def swimlanes(frames: HistoryFrames, tb: Timebase, outcomes: pd.DataFrame,
              worst: int = 6) -> Swimlanes:
    """The ``worst`` sessions of :func:`session_outcomes` (already ranked worst first)."""
    if worst < 1:
        raise ValueError(f"worst: must be >= 1, got {worst!r}")
    lanes = outcomes.head(worst)[["component", "client_id", "role", "outcome"]] \
        .reset_index(drop=True)
    lanes.insert(0, "lane", np.arange(len(lanes)))
    key = lanes[["lane", "component", "client_id"]]
    conns = frames.connections.astype({"component": str, "client_id": str})
    conns = conns[conns["acked_ns"].notna()].merge(key, on=_RECEIVER)
    end = conns["closed_ns"].fillna(frames.end_ns)
    intervals = pd.DataFrame({"lane": conns["lane"].to_numpy(dtype="int64"),
                              "start_s": tb.seconds(conns["acked_ns"]),
                              "end_s": tb.seconds(end)})
    ev = frames.events
    ev = ev[ev["kind"].isin(_SWIM_KINDS)][["t", "component", "client_id", "kind", "outcome",
                                           "code", "initiator"]]
    ev = ev.astype({"component": str, "client_id": str, "kind": str, "outcome": str}) \
        .merge(key, on=_RECEIVER)
    label = ev["kind"] + " " + ev["outcome"]
    code = ev["code"].astype(float)
    label = label.where(code.isna(), label + " " + code.fillna(0).astype(int).astype(str))
    events = pd.DataFrame({"lane": ev["lane"].to_numpy(dtype="int64"),
                           "t_s": tb.seconds(ev["t"]), "kind": ev["kind"].to_numpy(),
                           "outcome": ev["outcome"].to_numpy(), "label": label.to_numpy()})
    return Swimlanes(lanes, intervals.sort_values(["lane", "start_s"]).reset_index(drop=True),
                     events.sort_values(["lane", "t_s"], kind="stable").reset_index(drop=True))


def cloud_metrics(frames: HistoryFrames, tb: Timebase) -> pd.DataFrame:
    """Gauges of every ``ok`` cloud probe, long form: ``t_s, metric, value``.

    ``metric`` is a gauge name (``sessions``, ``glasses_connections``, …) or a ``/metrics``
    value (``m_<name>``)."""
    ev = frames.events
    probes = ev[(ev["kind"] == "cloud_probe") & (ev["outcome"] == "ok")]
    names = [c for c in CLOUD_GAUGES if c in probes.columns]
    names += sorted(c for c in probes.columns if str(c).startswith("m_"))
    if probes.empty or not names:
        return pd.DataFrame({"t_s": pd.Series(dtype=float), "metric": pd.Series(dtype=object),
                             "value": pd.Series(dtype=float)})
    wide = probes[["t", *names]].copy()
    wide["t_s"] = tb.seconds(wide["t"])
    long = wide.drop(columns="t").melt(id_vars="t_s", var_name="metric", value_name="value")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    long = long.dropna(subset=["value"])
    return long.reset_index(drop=True)[["t_s", "metric", "value"]]
