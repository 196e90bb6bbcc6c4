"""Which clients were live (a connection acknowledged and not closed since) at a time."""

from __future__ import annotations

from wsquake.history.frame import HistoryFrames

__all__ = ["live_sessions"]


def live_sessions(frames: HistoryFrames, role: str, at_ns: int) -> set[str]:
    """``session_id`` of every ``role`` client with a connection (``conn`` epoch) whose
    last ``init ok`` at or before ``at_ns`` is later than the last ``close`` of that same
    epoch by then.

    Closes are matched per epoch, so the late close of a superseded or abandoned socket
    does not end the client's newer connection; comparing the latest times handles a
    restarted process whose clients count epochs from 1 again."""
    ev = frames.events
    rows = ev[(ev["role"] == role) & (ev["t"] <= at_ns) & (ev["conn"] > 0)
              & (((ev["kind"] == "init") & (ev["outcome"] == "ok")) | (ev["kind"] == "close"))]
    if rows.empty:
        return set()
    rows = rows.astype({"component": "object", "client_id": "object", "session_id": "object",
                        "kind": "object"})
    last = rows.groupby(["component", "client_id", "session_id", "conn", "kind"])["t"].max()
    table = last.unstack("kind")
    acks = table["init"] if "init" in table else None
    if acks is None:
        return set()
    closes = table["close"] if "close" in table else acks * float("nan")
    live = table.index[(acks.notna() & (closes.isna() | (acks > closes))).to_numpy()]
    return {str(key[2]) for key in live}
