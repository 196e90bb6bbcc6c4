"""Which clients were live (acknowledged and not closed since) at a given time."""

from __future__ import annotations

import pandas as pd

from wsquake.history.frame import HistoryFrames

__all__ = ["live_sessions"]


def live_sessions(frames: HistoryFrames, role: str, at_ns: int) -> set[str]:
    """``session_id`` of every ``role`` client whose last ack before ``at_ns`` is later
    than its last close (any initiator) before ``at_ns``."""
    ev = frames.events
    rows = ev[(ev["role"] == role) & (ev["t"] <= at_ns)
              & (((ev["kind"] == "init") & (ev["outcome"] == "ok")) | (ev["kind"] == "close"))]
    if rows.empty:
        return set()
    rows = rows.astype({"component": "object", "client_id": "object", "session_id": "object",
                        "kind": "object"})
    last = rows.groupby(["component", "client_id", "kind"])["t"].max().unstack("kind")
    acks = last["init"] if "init" in last else pd.Series(dtype="float64")
    closes = last["close"] if "close" in last else pd.Series(index=last.index, dtype="float64")
    live = last.index[(acks.notna() & (closes.isna() | (acks > closes))).to_numpy()]
    sessions = rows.drop_duplicates(["component", "client_id"]).set_index(
        ["component", "client_id"])["session_id"]
    return {str(sessions[key]) for key in live}
