"""What a load user measures, as typed values: one timing sample per request-like step
and one recovery sample per reconnect, plus the JSON edge used between Locust workers and
the master (``events.report_to_master`` / ``events.worker_report``).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from wsquake.load.exceptions import LoadReportError

__all__ = ["Metric", "RecoverySample", "Sink", "recoveries_from_report"]


class Metric(enum.StrEnum):
    """The names a load user reports to Locust's statistics (request type ``WS``)."""

    CONNECT = "connect"
    """Dial to WebSocket open (TCP + upgrade)."""
    ACK = "ack"
    """``connection_init`` sent to ``connection_ack`` received."""
    ECHO = "echo"
    """Echo probe sent to the echo app's reply shown on the glasses."""
    RECONNECT = "reconnect"
    """Socket lost to the next ``connection_ack``: the time to recover."""


@dataclass(frozen=True, slots=True)
class RecoverySample:
    """One recovery of one load user: lost at ``lost_ns`` (wall), re-acked
    ``reconnect_ms`` later after ``attempts`` connection attempts."""

    user: str
    lost_ns: int
    reconnect_ms: float
    attempts: int
    lost_conn: int
    worker: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RecoverySample:
        """Parse one sample of a worker report; names the bad field on error."""
        if not isinstance(data, Mapping):
            raise LoadReportError("recovery", f"expected an object, got {type(data).__name__}")
        user = data.get("user")
        if not isinstance(user, str) or not user:
            raise LoadReportError("recovery.user", f"expected a non-empty string, got {user!r}")
        ints: dict[str, int] = {}
        for key in ("lost_ns", "attempts", "lost_conn", "worker"):
            value = data.get(key, 0 if key == "worker" else None)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise LoadReportError(f"recovery.{key}", f"expected an int >= 0, got {value!r}")
            ints[key] = value
        ms = data.get("reconnect_ms")
        if (
            isinstance(ms, bool)
            or not isinstance(ms, int | float)
            or not math.isfinite(ms)
            or ms < 0
        ):
            raise LoadReportError("recovery.reconnect_ms", f"expected a number >= 0, got {ms!r}")
        return cls(user=user, reconnect_ms=float(ms), **ints)


REPORT_KEY = "wsquake_recoveries"
"""The key of the recovery samples in a Locust worker report."""


def recoveries_from_report(data: Mapping[str, Any]) -> list[RecoverySample]:
    """The recovery samples in one worker report (none if the key is absent)."""
    raw = data.get(REPORT_KEY)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise LoadReportError(REPORT_KEY, f"expected a list, got {type(raw).__name__}")
    return [RecoverySample.from_dict(item) for item in raw]


class Sink(Protocol):
    """Where a load user sends its measurements (Locust's event hooks, or a test list)."""

    def sample(self, metric: Metric, ms: float, error: str | None = None) -> None: ...

    def recovery(self, sample: RecoverySample) -> None: ...
