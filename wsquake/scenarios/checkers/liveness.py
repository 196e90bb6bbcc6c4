"""Which clients were live (a connection acknowledged and not closed since) at a time."""

from __future__ import annotations

from wsquake.history.frame import HistoryFrames

__all__ = ["live_sessions"]


def live_sessions(frames: HistoryFrames, role: str, at_ns: int) -> set[str]:
    """``session_id`` of every ``role`` client with a connection (one row of
    ``frames.connections``: an epoch within one incarnation) acknowledged at or before
    ``at_ns`` and not closed by then.

    Closes are matched per connection, so the late close of a superseded or abandoned
    socket does not end the client's newer connection, and a restarted process whose
    clients count epochs from 1 again starts new connections."""
    conns = frames.connections
    if conns.empty:
        return set()
    live = conns[(conns["role"] == role) & (conns["acked_ns"] <= at_ns)
                 & ~(conns["closed_ns"] <= at_ns)]
    return {str(s) for s in live["session_id"]}
