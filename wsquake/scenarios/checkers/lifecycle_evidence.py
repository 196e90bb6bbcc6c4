"""Lifecycle evidence of the known upstream defects (PROTOCOL.md §12) in a history.

Pure functions of :class:`~wsquake.history.frame.HistoryFrames`, used by the
``lifecycle`` checker; each finding is a metric under its own key plus an
:class:`~wsquake.scenarios.checkers.base.Example` whose ``detail`` names the symptom the
way a person would report it (e.g. ``app session for anne-marie-0001@ex-ample.com never
connected: SESSION_NOT_FOUND``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from wsquake.history.frame import HistoryFrames
from wsquake.scenarios.checkers.base import Example, MetricValue
from wsquake.scenarios.model import Scenario

__all__ = ["Evidence", "defect_evidence"]

USER_SESSION_ENDED = "User session ended"


@dataclass(slots=True)
class Evidence:
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _col(ev: pd.DataFrame, name: str) -> pd.Series:
    if name in ev.columns:
        return ev[name]
    return pd.Series([None] * len(ev), index=ev.index, dtype="object")


def _user_of(session_id: str, package: object) -> str:
    """The email of ``<email>-<package>`` (both may contain ``-``)."""
    if isinstance(package, str) and package and session_id.endswith("-" + package):
        return session_id[: -len(package) - 1]
    return session_id


def defect_evidence(
    frames: HistoryFrames, scenario: Scenario, options: Mapping[str, Any] | None = None
) -> Evidence:
    options = options or {}
    out = Evidence()
    ev = frames.events
    if ev.empty:
        out.metrics.update(init_failures=0, init_failed_sessions=0, ended_without_stop=0,
                           repeated_requests=0, loading_apps_not_list=0,
                           display_not_resent=0, starts_rerun=0)
        return out
    kind, outcome = ev["kind"].astype(str), ev["outcome"].astype(str)
    role = ev["role"].astype(str)
    _init_failures(frames, ev, kind, outcome, role, out)
    _ended_without_stop(frames, ev, kind, outcome, role, out)
    window_s = float(options.get("repeat_window_s", 3.0))
    _repeated_requests(frames, ev, kind, outcome, window_s * scenario.time_scale * 1e9, out)
    _loading_not_list(frames, ev, kind, role, out)
    _starts_rerun(frames, ev, kind, outcome, role, out)
    resend_s = float(options.get("resend_window_s", 2.0))
    _display_not_resent(frames, ev, kind, outcome, role,
                        resend_s * scenario.time_scale * 1e9, out)
    return out


def _init_failures(frames: HistoryFrames, ev: pd.DataFrame, kind: pd.Series,
                   outcome: pd.Series, role: pd.Series, out: Evidence) -> None:
    # ``error_code``: the cloud's tpa_connection_error code (``code`` is read as a number)
    codes_col = _col(ev, "error_code")
    fails = ev[(kind == "init") & (outcome == "fail") & (role == "app") & codes_col.notna()
               & (codes_col.astype(str) != "")]
    ok = set(ev[(kind == "init") & (outcome == "ok") & (role == "app")]["session_id"].astype(str))
    failed_ids = sorted(set(fails["session_id"].astype(str)))
    never = [sid for sid in failed_ids if sid not in ok]
    out.metrics["init_failures"] = len(fails)
    out.metrics["init_failed_sessions"] = len(never)
    if fails.empty:
        return
    codes = fails["error_code"].astype(str).value_counts()
    out.notes.append(f"{len(fails)} app init(s) refused ("
                     + ", ".join(f"{c} ×{n}" for c, n in codes.items()) + ")")
    for sid in (never or failed_ids)[:3]:
        row = fails[fails["session_id"].astype(str) == sid].iloc[0]
        what = "never connected" if sid in never else "init refused"
        out.examples.append(Example(
            str(row["component"]), sid, "init_refused",
            f"app session for {_user_of(sid, row.get('package'))} {what}: {row['error_code']} "
            f"({row.get('error')})",
            frames.excerpt(str(row["component"]), sid, frames.start_ns, frames.end_ns)))


def _ended_without_stop(frames: HistoryFrames, ev: pd.DataFrame, kind: pd.Series,
                        outcome: pd.Series, role: pd.Series, out: Evidence) -> None:
    request = _col(ev, "request").astype(str)
    reason = _col(ev, "reason").astype(str)
    webhooks = (kind == "webhook") & (outcome == "invoke") & request.isin(
        ["session_request", "stop_request"])
    ended = (kind == "close") & (role == "app") & (reason == USER_SESSION_ENDED)
    rows = ev[webhooks | ended]
    missing: list[tuple[str, str, int]] = []
    stopped: dict[str, bool] = {}
    for sid, k, req, t, comp in zip(rows["session_id"].astype(str), rows["kind"].astype(str),
                                    _col(rows, "request").astype(str), rows["t"],
                                    rows["component"].astype(str), strict=True):
        if k == "webhook":
            stopped[sid] = req == "stop_request"
        elif not stopped.get(sid, False):
            missing.append((sid, comp, int(t)))
    out.metrics["ended_without_stop"] = len(missing)
    if missing:
        out.notes.append(f"{len(missing)} app session(s) ended without a stop_request")
    for sid, comp, t in missing[:3]:
        out.examples.append(Example(
            comp, sid, "ended_without_stop",
            f"app session {sid} closed 1000 \"{USER_SESSION_ENDED}\" with no stop_request "
            "webhook (onStop never runs)",
            frames.excerpt(comp, sid, t - 10**10, t + 10**9)))


def _repeated_requests(frames: HistoryFrames, ev: pd.DataFrame, kind: pd.Series,
                       outcome: pd.Series, window_ns: float, out: Evidence) -> None:
    """``session_request`` webhooks that follow a failed one (the SDK's 500) for the same
    session id within ``window_ns``: the retry of a start that already ended (D12)."""
    request = _col(ev, "request").astype(str)
    rows = ev[(kind == "webhook") & outcome.isin(["invoke", "fail"])
              & (request == "session_request")]
    repeated: list[tuple[str, str, int, float, object]] = []
    failed_at: dict[str, tuple[int, object]] = {}
    for sid, oc, t, comp, status in zip(rows["session_id"].astype(str),
                                        rows["outcome"].astype(str), rows["t"],
                                        rows["component"].astype(str), _col(rows, "status"),
                                        strict=True):
        if oc == "fail":
            failed_at[sid] = (int(t), status)
            continue
        prev = failed_at.pop(sid, None)
        if prev is not None and int(t) - prev[0] <= window_ns:
            repeated.append((sid, comp, int(t), (int(t) - prev[0]) / 1e9, prev[1]))
    out.metrics["repeated_requests"] = len(repeated)
    if not repeated:
        return
    out.notes.append(f"{len(repeated)} session_request(s) retried after the app answered "
                     "the previous one with an error")
    for sid, comp, t, gap_s, status in repeated[:3]:
        out.examples.append(Example(
            comp, sid, "repeated_session_request",
            f"a second session_request for {sid} {gap_s:.2f} wall s after the app answered "
            f"the first with {status}: the start was retried",
            frames.excerpt(comp, sid, t - 10**10, t + 10**9)))


def _display_not_resent(frames: HistoryFrames, ev: pd.DataFrame, kind: pd.Series,
                        outcome: pd.Series, role: pd.Series, window_ns: float,
                        out: Evidence) -> None:
    """Glasses reconnects (an ``ack`` on a later connection of a client whose last display
    had text) with no display (``display info``) within ``window_ns`` of the ack (D7)."""
    rows = ev[(role == "glasses") & ((kind.isin(["ack", "init"]) & (outcome == "ok"))
                                     | ((kind == "display") & (outcome == "info")))]
    missing: list[tuple[str, str, int]] = []
    for (comp, client), group in rows.groupby(["component", "client_id"], observed=True):
        shown = False
        last_conn: int | None = None
        kinds = group["kind"].astype(str).tolist()
        times = group["t"].astype("int64").tolist()
        conns = group["conn"].astype("int64").tolist()
        texts = _col(group, "text").tolist()
        displays = [t for k, t in zip(kinds, times, strict=True) if k == "display"]
        for k, t, c, text in zip(kinds, times, conns, texts, strict=True):
            if k == "display":
                # an empty display (a clear) leaves nothing to re-send
                shown = isinstance(text, str) and bool(text.strip())
            elif last_conn is None:
                last_conn = c
            elif c != last_conn:
                last_conn = c
                if shown and not any(t <= d <= t + window_ns for d in displays):
                    missing.append((str(comp), str(client), t))
    out.metrics["display_not_resent"] = len(missing)
    if not missing:
        return
    out.notes.append(f"{len(missing)} glasses reconnect(s) without the display re-sent")
    for comp, client, t in missing[:3]:
        out.examples.append(Example(
            comp, client, "display_not_resent",
            f"glasses {client} reconnected and got no display within "
            f"{window_ns / 1e9:.2f} wall s (the cloud did not re-send it)",
            frames.excerpt(comp, client, t - 10**9, t + 2 * 10**9)))


def _starts_rerun(frames: HistoryFrames, ev: pd.DataFrame, kind: pd.Series,
                  outcome: pd.Series, role: pd.Series, out: Evidence) -> None:
    """Apps that go back to ``loading`` on the same glasses connection after their start
    ended, with no ``start_app`` from the glasses in between: the cloud ran the start
    again by itself (D10: ``connection_init`` on a fresh session reruns its starts)."""
    rows = ev[(role == "glasses") & (((kind == "app_state") & (outcome == "ok"))
                                     | ((kind == "start_app") & (outcome == "invoke")))]
    reruns: list[tuple[str, str, str, int]] = []
    loading_col = _col(rows, "loading").tolist()
    package_col = _col(rows, "package").tolist()
    state: dict[tuple[str, str, int, str], str] = {}
    for comp, client, conn, k, t, loading, package in zip(
            rows["component"].astype(str), rows["client_id"].astype(str),
            rows["conn"].astype("int64"), rows["kind"].astype(str), rows["t"],
            loading_col, package_col, strict=True):
        if k == "start_app":
            state[(comp, client, int(conn), str(package))] = "asked"
            continue
        now = {p for p in str(loading or "").split(",") if p}
        for key in [key for key in state if key[:3] == (comp, client, int(conn))]:
            if key[3] not in now and state[key] == "loading":
                state[key] = "ended"
        for pkg in now:
            key = (comp, client, int(conn), pkg)
            if state.get(key) == "ended":
                reruns.append((comp, client, pkg, int(t)))
            state[key] = "loading"
    out.metrics["starts_rerun"] = len(reruns)
    if not reruns:
        return
    out.notes.append(f"{len(reruns)} app start(s) run again by the cloud after they ended")
    for comp, client, pkg, t in reruns[:3]:
        out.examples.append(Example(
            comp, client, "start_rerun",
            f"{pkg} went back to loading for {client} after its start had ended, with no "
            "start_app from the glasses: the cloud ran the start again",
            frames.excerpt(comp, client, t - 3 * 10**9, t + 10**9)))


def _loading_not_list(frames: HistoryFrames, ev: pd.DataFrame, kind: pd.Series,
                      role: pd.Series, out: Evidence) -> None:
    flag = _col(ev, "loading_not_list")
    bad = ev[kind.isin(["ack", "app_state"]) & (role == "glasses") & (flag == True)]  # noqa: E712
    out.metrics["loading_apps_not_list"] = len(bad)
    if bad.empty:
        return
    out.notes.append(f"{len(bad)} connection_ack/app_state_change with loadingApps "
                     "not a list")
    row = bad.iloc[0]
    out.examples.append(Example(
        str(row["component"]), str(row["client_id"]), "loading_apps_not_list",
        f"{row['kind']} for {row['client_id']} carried \"loadingApps\" as an object "
        "(expected a list)",
        frames.excerpt(str(row["component"]), str(row["client_id"]), int(row["t"]) - 10**9,
                       int(row["t"]) + 10**9)))
