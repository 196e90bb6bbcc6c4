"""``recovery``: did every disrupted connection come back, and how fast, phase by phase.

For every client (glasses or app) and every fault episode affecting its role
(:func:`~wsquake.scenarios.checkers.base.episodes`), with S/E the episode's start/end and
D = E + ``recovery_window_s`` the deadline:

* **disrupted** if the client saw a loss (a ``close`` that is not its own and not stale;
  for a process fault — target ``cloud``/``apps``/``glasses`` — any non-stale ``close``,
  since a stopping process closes its own sockets) in [S, D], or its data stopped: it
  had data before S (apps: ``receive``; glasses: an echo ``display``) and none in
  (E, D]. Otherwise *not affected*.
* recovery starts at R = max(E, loss); phases: **detect** S → loss; **reconnect** loss →
  first ``init ok`` after the loss; **resubscribe** ack → first ``subscribe`` invoke
  after the ack carrying the client's full steady-state set (its last ``streams`` before
  the first fault; glasses: 0); **caught up** → first fresh data (sent at or after R) on
  every stream the client received before S (apps: ``receive``; glasses: echo of a
  probe sent at or after R; a client without data before S is caught up on resubscribe).
* **time to recover** = caught up − R; outcome **recovered** (caught up ≤ D), **late**
  (after D) or **never**. Percentiles are over recovered and late connections; they are
  0.0 when faults ran but nothing was disrupted, ``None`` when no fault ran.

Metrics: ``rate`` = recovered / disrupted (1.0 when nothing was disrupted), ``p50_s``,
``p95_s``, ``p99_s``, ``max_s`` of the time to recover (recovered and late), ``never``,
``late``, ``disrupted``, ``recovered``, ``not_affected``, ``episodes``,
``detect_p95_s``, ``reconnect_p95_s``, ``resubscribe_p95_s``, ``caught_up_p95_s``, and per
role ``glasses_never``, ``glasses_late``, ``glasses_p95_s``, ``app_never``, ``app_late``,
``app_p95_s``; ``reconnect_rate`` (and ``glasses_``/``app_reconnect_rate``): disrupted
connections acknowledged again by the deadline (a stalled socket that never closed
counts as connected), which separates "reconnected" from "caught up" when end-to-end
data cannot flow (e.g. the echo app is gone); ``unprovoked_losses``: losses seen outside
every fault window + recovery window, before the audit (steady-state churn). Options:
``max_examples`` (3), ``roles`` (``("glasses", "app")``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.checkers.base import (
    CheckResult,
    Example,
    episodes,
    percentile,
    recovery_ns,
    to_scenario_s,
)
from wsquake.scenarios.model import Scenario
from wsquake.scenarios.thresholds import Verdict

__all__ = ["check_recovery"]

_Key = tuple[str, str]
_PROCESS_TARGETS = frozenset({"cloud", "apps", "glasses"})


@dataclass(slots=True)
class RecoveryCase:
    key: _Key
    role: str
    outcome: str
    start_ns: int
    deadline_ns: int
    detect: float = np.nan
    reconnect: float = np.nan
    resubscribe: float = np.nan
    caught_up: float = np.nan
    total: float = np.nan
    reconnected: bool = False
    detail: str = ""
    episode: int = 0


def _times_by_client(frame: pd.DataFrame) -> dict[_Key, np.ndarray]:
    if frame.empty:
        return {}
    out: dict[_Key, np.ndarray] = {}
    t = frame["t"].to_numpy()
    groups = frame.groupby(["component", "client_id"], observed=True, sort=False).indices
    for key, idx in groups.items():
        parts: tuple[Any, ...] = tuple(key)  # type: ignore[arg-type]
        out[(str(parts[0]), str(parts[1]))] = np.sort(t[idx])
    return out


def _streams_by_client(data: pd.DataFrame) -> dict[_Key, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """client -> stream -> (t, t_sent) sorted by t."""
    out: dict[_Key, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    if data.empty:
        return out
    data = data.sort_values("t", kind="stable")
    t = data["t"].to_numpy()
    sent = data["t_sent"].to_numpy(dtype=float)
    groups = data.groupby(["component", "client_id", "stream"], observed=True, sort=False).indices
    for key, idx in groups.items():
        parts: tuple[Any, ...] = tuple(key)  # type: ignore[arg-type]
        out.setdefault((str(parts[0]), str(parts[1])), {})[str(parts[2])] = (t[idx], sent[idx])
    return out


def _first_at_or_after(times: np.ndarray | None, at: float) -> float:
    if times is None or times.size == 0:
        return np.nan
    i = int(np.searchsorted(times, at, side="left"))
    return float(times[i]) if i < times.size else np.nan


def _data_frames(frames: HistoryFrames) -> dict[str, pd.DataFrame]:
    """Per role: data arrivals with the time each was sent (``t_sent``) and a stream."""
    sends = frames.sends.drop_duplicates(["user", "stream", "seq"], keep="last")
    rx = frames.receives.merge(
        sends[["user", "stream", "seq", "t"]].rename(columns={"t": "t_sent"}),
        on=["user", "stream", "seq"], how="left",
    )
    rx["t_sent"] = rx["t_sent"].astype(float)
    probes = frames.sends[frames.sends["kind"] == "probe"][["client_id", "seq", "t"]]
    echoes = frames.echoes.merge(
        probes.rename(columns={"t": "t_sent", "seq": "probe_seq"}),
        on=["client_id", "probe_seq"], how="left",
    )
    echoes["t_sent"] = echoes["t_sent"].astype(float)
    echoes["stream"] = "echo"
    return {
        "app": rx[["t", "component", "client_id", "stream", "t_sent"]],
        "glasses": echoes[["t", "component", "client_id", "stream", "t_sent"]],
    }


def _stream_set(value: object) -> frozenset[str]:
    if not isinstance(value, str):
        return frozenset()
    return frozenset(s.strip() for s in value.split(",") if s.strip())


def _full_subscribes(frames: HistoryFrames) -> pd.DataFrame:
    """``subscribe`` invokes that carry a client's full steady-state subscription set (its
    last one before the first fault); any subscribe for a client without one."""
    ev = frames.events
    subs = ev[(ev["kind"] == "subscribe") & (ev["outcome"] == "invoke")]
    if subs.empty or frames.faults.empty:
        return subs
    first = int(frames.faults["start_ns"].min())
    steady = subs[subs["t"] < first].drop_duplicates(["component", "client_id"], keep="last")
    wanted = {
        (str(c), str(k)): _stream_set(v)
        for c, k, v in zip(steady["component"], steady["client_id"], steady["streams"],
                           strict=True)
    }
    full = [
        wanted.get((str(c), str(k)), frozenset()) <= _stream_set(v)
        for c, k, v in zip(subs["component"], subs["client_id"], subs["streams"], strict=True)
    ]
    return subs[full]


def recovery_cases(
    frames: HistoryFrames, scenario: Scenario, roles: tuple[str, ...] = ("glasses", "app")
) -> tuple[list[RecoveryCase], int]:
    """Every (client, fault episode) judged, and the number of episodes.

    The one definition of a case: the ``recovery`` check aggregates these, and the
    reports draw them (time-to-recover CDF, phase breakdown, worst sessions).
    """
    window = recovery_ns(scenario)
    data = _data_frames(frames)
    sub_times = _times_by_client(_full_subscribes(frames))
    cases: list[RecoveryCase] = []
    n_episodes = 0
    for role in roles:
        eps = episodes(frames, scenario, role)
        if not eps:
            continue
        n_episodes += len(eps)
        clients = frames.clients(role)
        keys: list[_Key] = list(zip(clients["component"].astype(str),
                                     clients["client_id"].astype(str), strict=True))
        losses = frames.losses[frames.losses["role"] == role]
        loss_times = _times_by_client(losses)
        ev = frames.events
        own = ev[(ev["kind"] == "close") & (ev["role"] == role)
                 & ~ev["stale"].astype("object").eq(True)]
        close_times = _times_by_client(own)
        ack_times = _times_by_client(frames.acks[frames.acks["role"] == role])
        streams = _streams_by_client(data.get(role, pd.DataFrame()))
        for index, ep in enumerate(eps):
            start, end, deadline = ep.start_ns, ep.end_ns, ep.end_ns + window
            process = bool(set(ep.targets) & _PROCESS_TARGETS)
            closes = close_times if process else loss_times
            for key in keys:
                case = _one(key, role, start, end, deadline, closes.get(key),
                            ack_times.get(key), sub_times.get(key), streams.get(key, {}))
                case.episode = index
                cases.append(case)
    return cases, n_episodes


def check_recovery(
    frames: HistoryFrames, scenario: Scenario, options: Mapping[str, Any] | None = None
) -> CheckResult:
    options = options or {}
    max_examples = int(options.get("max_examples", 3))
    roles = tuple(options.get("roles", ("glasses", "app")))
    cases, n_episodes = recovery_cases(frames, scenario, roles)
    return _result(frames, scenario, cases, n_episodes, max_examples)


def _one(key: _Key, role: str, start: int, end: int, deadline: int,
         losses: np.ndarray | None, acks: np.ndarray | None, subs: np.ndarray | None,
         streams: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> RecoveryCase:
    loss = _first_at_or_after(losses, start)
    if not np.isnan(loss) and loss > deadline:
        loss = np.nan
    before = {s: v for s, v in streams.items() if v[0].size and v[0][0] < start}
    if np.isnan(loss):
        stalled = bool(before) and not any(
            ((t > end) & (t <= deadline)).any() for t, _ in before.values()
        )
        if not stalled:
            return RecoveryCase(key, role, "not_affected", start, deadline)
        case = RecoveryCase(key, role, "never", start, deadline, reconnected=True,
                     detail="data stopped without a close")
        caught = _caught_up(before, end, end)
        if not np.isnan(caught):
            case.caught_up = caught - end
            case.total = caught - end
            case.outcome = "recovered" if caught <= deadline else "late"
        return case
    begin = max(float(end), loss)
    case = RecoveryCase(key, role, "never", start, deadline, detect=loss - start)
    ack = _first_at_or_after(acks, loss)
    if np.isnan(ack):
        case.detail = "no new connection was acknowledged after the loss"
        return case
    case.reconnect = ack - loss
    case.reconnected = ack <= deadline
    sub = ack if role == "glasses" else _first_at_or_after(subs, ack)
    if np.isnan(sub):
        case.detail = "reconnected but never re-subscribed"
        return case
    case.resubscribe = sub - ack
    caught = _caught_up(before, begin, sub) if before else sub
    if np.isnan(caught):
        missing = [s for s, (t, sent) in before.items()
                   if not ((t >= sub) & (sent >= begin)).any()]
        case.detail = f"no fresh data after reconnecting on {', '.join(sorted(missing))}"
        return case
    case.caught_up = caught - sub
    case.total = caught - begin
    case.outcome = "recovered" if caught <= deadline else "late"
    return case


def _caught_up(streams: Mapping[str, tuple[np.ndarray, np.ndarray]], fresh_from: float,
               not_before: float) -> float:
    latest = -np.inf
    for t, sent in streams.values():
        ok = (t >= not_before) & (sent >= fresh_from)
        if not ok.any():
            return np.nan
        latest = max(latest, float(t[ok][0]))
    return latest


def _unprovoked_losses(frames: HistoryFrames, scenario: Scenario) -> int:
    """Losses seen by clients outside every fault window and its recovery window, up to
    the audit (the last cloud probe; else the last send), so the final shutdown does not
    count."""
    losses = frames.losses
    if losses.empty:
        return 0
    t = losses["t"].to_numpy()
    probes = frames.cloud_probes
    if not probes.empty:
        cutoff = int(probes["t"].max())
    elif not frames.sends.empty:
        cutoff = int(frames.sends["t"].max())
    else:
        cutoff = frames.end_ns
    explained = t > cutoff
    window = recovery_ns(scenario)
    for start, end in zip(frames.faults["start_ns"], frames.faults["end_ns"], strict=True):
        explained |= (t >= start) & (t <= end + window)
    return int((~explained).sum())


def _result(frames: HistoryFrames, scenario: Scenario, cases: list[RecoveryCase], n_episodes: int,
            max_examples: int) -> CheckResult:
    counts = {o: sum(c.outcome == o for c in cases)
              for o in ("recovered", "late", "never", "not_affected")}
    disrupted = counts["recovered"] + counts["late"] + counts["never"]

    def p(attr: str, q: float, role: str | None = None) -> float | None:
        values = [getattr(c, attr) for c in cases
                  if c.outcome != "not_affected" and role in (None, c.role)]
        if not values and n_episodes:
            return 0.0  # faults ran and nothing needed time to recover
        return percentile(to_scenario_s(np.asarray(values, dtype=float), scenario), q)

    def n(outcome: str, role: str) -> int:
        return sum(c.outcome == outcome and c.role == role for c in cases)

    def reconnect_rate(role: str | None = None) -> float | None:
        hit = [c.reconnected for c in cases
               if c.outcome != "not_affected" and role in (None, c.role)]
        if not hit:
            return 1.0 if n_episodes else None
        return round(sum(hit) / len(hit), 6)

    metrics: dict[str, float | int | None] = {
        "rate": round(counts["recovered"] / disrupted, 6) if disrupted else 1.0,
        "p50_s": p("total", 50),
        "p95_s": p("total", 95),
        "p99_s": p("total", 99),
        "max_s": p("total", 100),
        "never": counts["never"],
        "late": counts["late"],
        "recovered": counts["recovered"],
        "disrupted": disrupted,
        "not_affected": counts["not_affected"],
        "episodes": n_episodes,
        "detect_p95_s": p("detect", 95),
        "reconnect_p95_s": p("reconnect", 95),
        "resubscribe_p95_s": p("resubscribe", 95),
        "caught_up_p95_s": p("caught_up", 95),
        "glasses_never": n("never", "glasses"),
        "glasses_late": n("late", "glasses"),
        "glasses_p95_s": p("total", 95, "glasses"),
        "app_never": n("never", "app"),
        "app_late": n("late", "app"),
        "app_p95_s": p("total", 95, "app"),
        "reconnect_rate": reconnect_rate(),
        "glasses_reconnect_rate": reconnect_rate("glasses"),
        "app_reconnect_rate": reconnect_rate("app"),
        "unprovoked_losses": _unprovoked_losses(frames, scenario),
    }
    bad = [c for c in cases if c.outcome == "never"] + [c for c in cases if c.outcome == "late"]
    examples = tuple(
        Example(
            c.key[0], c.key[1], c.outcome,
            c.detail or f"recovered {to_scenario_s(c.total, scenario):.3f} s after the fault",
            frames.excerpt(c.key[0], c.key[1], c.start_ns, c.deadline_ns),
        )
        for c in bad[:max_examples]
    )
    if n_episodes == 0:
        summary = "no fault affected any client: nothing to recover"
    else:
        summary = (
            f"{disrupted} disrupted connection(s) in {n_episodes} episode(s): "
            f"{counts['recovered']} recovered, {counts['late']} late, {counts['never']} never; "
            f"p95 {metrics['p95_s']} s"
        )
    verdict = Verdict.PASS
    if n_episodes and not cases:
        verdict, summary = Verdict.UNKNOWN, "faults ran but the history has no clients"
    return CheckResult("recovery", verdict, metrics, examples, summary)
