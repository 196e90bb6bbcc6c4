"""A run's history as pandas DataFrames, built once and shared by checkers and reports.

:class:`HistoryFrames` holds one ``events`` frame (every event, time-ordered, with typed
columns: ``t`` int64 ns; ``component``/``client_id``/``session_id``/``kind``/``outcome``/
``role`` categorical; ``conn`` int64; each kind-specific field as a column) and derived
frames, all computed with vectorised pandas operations (no per-row Python loop over the
history), so a history of 1,000,000 events is fine:

``faults``
    one row per fault window: ``fault, target, toxic, step, window, start_ns, end_ns``
    (``end_ns`` = the end of the history when the fault was never healed). A start/end
    pair is matched by ``fault`` name in order; ``ok`` events are preferred, ``invoke``
    events are used for faults that recorded no ``ok``.
``sends``
    the glasses side: ``send ok`` and ``probe invoke`` rows (``t, component, client_id,
    conn, user, stream, seq, kind``). A message written while disconnected has no ``ok``
    and so was never sent.
``receives``
    ``receive`` rows at apps (``t, component, client_id, session_id, conn, user, stream,
    seq``).
``echoes``
    ``display`` rows carrying ``probe_seq`` (``t, client_id, conn, probe_seq, rtt_ms``).
``losses``
    ``close`` rows that are a loss seen by a client: initiator ``peer``/``network`` (or
    missing), not ``stale``; the client's own closes and abandoned sockets are excluded.
``acks``
    ``init ok`` rows (the connection is open and acknowledged).
``connections``
    one row per client connection (from its ``connect``/``init``/``close`` events):
    ``component, client_id, session_id, role, incarnation, conn, first_ns, open_ns``
    (``connect ok``), ``acked_ns`` (``init ok``), ``closed_ns, close_code,
    close_initiator`` (first non-stale ``close``), ``lost``
    (closed by the peer or the network). ``incarnation`` counts restarts of a client's
    epoch numbering (a restarted process counts ``conn`` from 1 again).
``cloud_probes``
    ``cloud_probe`` rows (``t, outcome, body, …``); :meth:`HistoryFrames.snapshots` parses
    the ``/api/sessions`` JSON in ``body``.

``role`` is ``glasses`` / ``app`` / ``runner`` from the component name (``glasses-*``,
``app*``, ``runner``), else inferred per client (an app has ``receive``/``subscribe``/
``webhook`` events, glasses ``probe``/``display``/``start_app``/``app_state``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsquake.history.events import COMMON_FIELDS, HistoryEvent
from wsquake.history.reader import read_history

__all__ = ["HistoryFrames", "Snapshot"]

logger = logging.getLogger(__name__)

_APP_KINDS = frozenset({"receive", "subscribe", "webhook", "app_stopped", "duplicate_session"})
_GLASSES_KINDS = frozenset({"probe", "display", "start_app", "stop_app", "app_state"})
_RUNNER_KINDS = frozenset({"fault_start", "fault_end", "cloud_probe"})
_NUMERIC = ("seq", "probe_seq", "rtt_ms", "latency_ms", "sent_ns", "code", "status", "step",
            "attempt", "delay_s")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One parsed ``/api/sessions`` snapshot taken at ``t`` (ns)."""

    t: int
    body: Mapping[str, Any] = field(hash=False)

    @property
    def users(self) -> list[Mapping[str, Any]]:
        users = self.body.get("users", [])
        return [u for u in users if isinstance(u, Mapping)] if isinstance(users, list) else []

    def apps(self) -> list[tuple[str, Mapping[str, Any]]]:
        """``(userId, app)`` for every app of every user."""
        out: list[tuple[str, Mapping[str, Any]]] = []
        for user in self.users:
            apps = user.get("apps", [])
            if isinstance(apps, list):
                out.extend((str(user.get("userId", "")), a) for a in apps if isinstance(a, Mapping))
        return out

    def connections(self) -> int | None:
        conns = self.body.get("connections")
        if not isinstance(conns, Mapping):
            return None
        total = 0
        for key in ("glasses", "app", "app_unbound"):
            value = conns.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                total += int(value)
        return total


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


class HistoryFrames:
    """Every frame a checker needs, built once from a run's events."""

    def __init__(self, events: pd.DataFrame) -> None:
        self.events = _normalise(events)
        ev = self.events
        self.start_ns: int = int(ev["t"].min()) if len(ev) else 0
        self.end_ns: int = int(ev["t"].max()) if len(ev) else 0
        self.faults = self._faults()
        self.sends = self._rows(
            ((ev["kind"] == "send") & (ev["outcome"] == "ok") & (ev["role"] == "glasses"))
            | ((ev["kind"] == "probe") & (ev["outcome"] == "invoke")),
            ["t", "component", "client_id", "conn", "user", "stream", "seq", "kind"],
        ).dropna(subset=["seq"])
        self.receives = self._rows(
            (ev["kind"] == "receive"),
            ["t", "component", "client_id", "session_id", "conn", "user", "stream", "seq"],
        ).dropna(subset=["seq"])
        self.echoes = self._rows(
            (ev["kind"] == "display") & ev["probe_seq"].notna(),
            ["t", "component", "client_id", "conn", "probe_seq", "rtt_ms"],
        )
        initiator = ev["initiator"].astype("object")
        stale = ev["stale"].astype("object").eq(True)
        self.losses = self._rows(
            (ev["kind"] == "close")
            & (initiator.isna() | initiator.isin(["peer", "network"]))
            & ~stale,
            ["t", "component", "client_id", "session_id", "conn", "role", "code", "reason",
             "initiator"],
        )
        self.acks = self._rows(
            (ev["kind"] == "init") & (ev["outcome"] == "ok"),
            ["t", "component", "client_id", "session_id", "conn", "role"],
        )
        self.cloud_probes = self._rows(
            ev["kind"] == "cloud_probe",
            ["t", "outcome", "sessions", "apps", "loading", "error", "body"],
        )
        self.connections = self._connections()

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_events(cls, events: Iterable[HistoryEvent]) -> HistoryFrames:
        """From typed events (any order; sorted by ``t``, stable)."""
        return cls.from_records(e.to_dict() for e in events)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> HistoryFrames:
        """From flat event dicts as in the JSON-lines files."""
        return cls(pd.DataFrame.from_records(list(records)))

    @classmethod
    def from_run_dir(cls, path: str | Path) -> HistoryFrames:
        """From a history file, or a run directory: its merged ``history.jsonl`` when there
        is one (the runner writes it beside ``journal.jsonl`` and ``parts/``), else every
        ``*.jsonl`` directly inside; validated by the history reader."""
        target = Path(path)
        merged = target / "history.jsonl"
        log = read_history(merged if target.is_dir() and merged.is_file() else target)
        for partial in log.truncated:
            logger.warning("ignoring a truncated history line: %s", partial)
        return cls.from_events(log.events)

    def _rows(self, mask: pd.Series, columns: list[str]) -> pd.DataFrame:
        return self.events.loc[mask, columns].reset_index(drop=True)

    def _connections(self) -> pd.DataFrame:
        ev = self.events
        cols = ["component", "client_id", "session_id", "role", "incarnation", "conn",
                "first_ns", "open_ns", "acked_ns", "closed_ns", "close_code",
                "close_initiator", "lost"]
        rows = ev[(ev["conn"] > 0) & (ev["client_id"] != "")
                  & ev["kind"].isin(["connect", "init", "close"])]
        if rows.empty:
            return _empty(cols)
        rows = rows[["t", "component", "client_id", "session_id", "role", "conn", "kind",
                     "outcome", "code", "initiator", "stale"]].astype(
            {"component": "object", "client_id": "object", "session_id": "object",
             "role": "object", "kind": "object", "outcome": "object"})
        keys = ["component", "client_id"]
        opener = rows["kind"].isin(["connect", "init"]) & (rows["outcome"] == "invoke")
        openers = rows.loc[opener, ["t", *keys, "conn"]].copy()
        by = [openers[k] for k in keys]
        # Vectorised per-client running max of earlier epochs (no per-group Python call).
        prev_max = openers.groupby(by, sort=False)["conn"].cummax().groupby(
            by, sort=False).shift(1)
        openers["incarnation"] = (openers["conn"] <= prev_max).astype("int64").groupby(
            by).cumsum()
        rows = pd.merge_asof(rows.sort_values("t"), openers[["t", *keys, "incarnation"]]
                             .sort_values("t"), on="t", by=keys, direction="backward")
        rows["incarnation"] = rows["incarnation"].fillna(0).astype("int64")
        group = [*keys, "incarnation", "conn"]
        kind, outcome = rows["kind"], rows["outcome"]

        def first(mask: pd.Series, column: str = "t") -> pd.Series:
            return rows.loc[mask].groupby(group)[column].first()

        closes = kind.eq("close") & ~rows["stale"].astype("object").eq(True)
        table = rows.groupby(group).agg(session_id=("session_id", "first"),
                                        role=("role", "first"), first_ns=("t", "min"))
        table["open_ns"] = first(kind.eq("connect") & outcome.eq("ok"))
        table["acked_ns"] = first(kind.eq("init") & outcome.eq("ok"))
        table["closed_ns"] = first(closes)
        table["close_code"] = first(closes, "code")
        table["close_initiator"] = first(closes, "initiator")
        table["lost"] = table["close_initiator"].isin(["peer", "network"])
        return table.reset_index()[cols]

    def _faults(self) -> pd.DataFrame:
        ev = self.events
        cols = ["fault", "target", "toxic", "step", "window", "start_ns", "end_ns"]
        rows = ev.loc[ev["kind"].isin(["fault_start", "fault_end"]),
                      ["t", "kind", "outcome", "fault", "target", "toxic", "step"]]
        if rows.empty:
            return _empty(cols).astype({"start_ns": "int64", "end_ns": "int64"})
        rows = rows.astype({"kind": "object", "outcome": "object", "fault": "object"})
        has_ok = rows.groupby("fault")["outcome"].transform(lambda s: (s == "ok").any())
        keep = np.where(has_ok, rows["outcome"] == "ok", rows["outcome"] == "invoke")
        rows = rows.loc[keep]
        starts = rows[rows["kind"] == "fault_start"].copy()
        ends = rows[rows["kind"] == "fault_end"].copy()
        starts["window"] = starts.groupby("fault").cumcount()
        ends["window"] = ends.groupby("fault").cumcount()
        merged = starts.merge(
            ends[["fault", "window", "t"]].rename(columns={"t": "end_ns"}),
            on=["fault", "window"],
            how="left",
        ).rename(columns={"t": "start_ns"})
        merged["end_ns"] = merged["end_ns"].fillna(self.end_ns).astype("int64")
        merged["start_ns"] = merged["start_ns"].astype("int64")
        return merged[cols].sort_values("start_ns", kind="stable").reset_index(drop=True)

    # --- queries ------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        """Every ``ok`` cloud probe with a parseable ``body`` object, in time order."""
        probes = self.cloud_probes
        probes = probes[(probes["outcome"] == "ok") & probes["body"].notna()]
        out: list[Snapshot] = []
        for t, body in zip(probes["t"], probes["body"], strict=True):
            try:
                data = json.loads(body) if isinstance(body, str) else None
            except json.JSONDecodeError:
                logger.warning("cloud_probe at %s: body is not JSON", t)
                continue
            if isinstance(data, dict):
                out.append(Snapshot(int(t), data))
        return out

    def clients(self, role: str) -> pd.DataFrame:
        """``component, client_id, session_id`` of every client of a role."""
        ev = self.events
        rows = ev.loc[(ev["role"] == role) & (ev["client_id"] != ""),
                      ["component", "client_id", "session_id"]]
        return rows.drop_duplicates(["component", "client_id"]).reset_index(drop=True)

    def excerpt(self, component: str, client_id: str, start_ns: int, end_ns: int,
                limit: int = 20) -> tuple[dict[str, Any], ...]:
        """Up to ``limit`` of a client's events in ``[start_ns, end_ns]`` as flat dicts."""
        ev = self.events
        rows = ev[(ev["component"] == component) & (ev["client_id"] == client_id)
                  & (ev["t"] >= start_ns) & (ev["t"] <= end_ns)]
        rows = rows[~rows["kind"].isin(["send", "receive"])].head(limit)
        out: list[dict[str, Any]] = []
        for rec in rows.to_dict("records"):
            out.append({
                str(k): (v.item() if isinstance(v, np.generic) else v)
                for k, v in rec.items()
                if k != "role" and not (v is None or (isinstance(v, float) and np.isnan(v)))
                and v is not pd.NA
            })
        return tuple(out)

    def __len__(self) -> int:
        return len(self.events)


_COLUMNS_ALWAYS = (
    "user", "stream", "seq", "probe_seq", "rtt_ms", "initiator", "stale", "code", "reason",
    "fault", "target", "toxic", "step", "body", "sessions", "apps", "loading", "error",
    "streams", "package", "request", "status", "latency_ms", "live",
)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    ev = frame.copy()
    for col in COMMON_FIELDS:
        if col not in ev.columns:
            ev[col] = 0 if col in ("t", "conn") else ""
    for col in _COLUMNS_ALWAYS:
        if col not in ev.columns:
            ev[col] = pd.Series([None] * len(ev), dtype="object", index=ev.index)
    ev["t"] = ev["t"].astype("int64")
    ev["conn"] = ev["conn"].fillna(0).astype("int64")
    for col in ("component", "client_id", "session_id", "kind", "outcome"):
        ev[col] = ev[col].fillna("").astype("object").astype(str)
    for col in _NUMERIC:
        if col in ev.columns:
            ev[col] = pd.to_numeric(ev[col], errors="coerce")
    for col in ("user", "stream"):
        ev[col] = ev[col].astype("object")
    ev = ev.sort_values("t", kind="stable").reset_index(drop=True)
    ev["role"] = _roles(ev)
    for col in ("component", "client_id", "session_id", "kind", "outcome", "role"):
        ev[col] = ev[col].astype("category")
    return ev


def _roles(ev: pd.DataFrame) -> pd.Series:
    comp = ev["component"].astype("category")
    by_component = {
        c: "glasses" if c.startswith("glasses") else "app" if c.startswith("app")
        else "runner" if c == "runner" else ""
        for c in comp.cat.categories
    }
    table = np.array([by_component[c] for c in comp.cat.categories] + [""], dtype=object)
    role = pd.Series(table[comp.cat.codes.to_numpy()], index=ev.index, dtype=object)
    role[ev["kind"].isin(_RUNNER_KINDS)] = "runner"
    unknown = role == ""
    if unknown.any():
        keys = [ev["component"], ev["client_id"]]
        is_app = ev["kind"].isin(_APP_KINDS).groupby(keys).transform("any")
        is_glasses = ev["kind"].isin(_GLASSES_KINDS).groupby(keys).transform("any")
        role[unknown & is_app] = "app"
        role[unknown & ~is_app & is_glasses] = "glasses"
        role[role == ""] = "other"
    return role
