"""Health monitor (PROTOCOL.md §9.4): every ``ping_interval_s`` ping each open glasses and
app socket; close one whose last pong is older than ``pong_deadline_s`` with 1001
``"Ping timeout - no pong received"`` (the transport drops TCP after
``close_handshake_timeout_s`` if the peer stays silent). ``pong_deadline_s = 0`` or
``defects.no_pong_deadline`` (D3) = no deadline; pings are still sent."""

from __future__ import annotations

import asyncio
import logging

from wsquake.cloud.core import CloudCore
from wsquake.cloud.transport import Connection
from wsquake.protocol.codes import CloseCode, CloseReason

__all__ = ["HealthMonitor"]

logger = logging.getLogger(__name__)

#: Sockets pinged per slice of a round. A round of more sockets is spread over the
#: interval, a slice every ``interval / slices`` (each socket is still pinged once per
#: interval), as upstream's per-socket ping timers are spread by connection time. One
#: burst of 10,000 pings (5,000 users with one app each), and the 10,000 pongs it brings
#: back, stalled the cloud for about a second every ``ping_interval_s``.
ROUND_SLICE = 250


class HealthMonitor:
    def __init__(self, core: CloudCore) -> None:
        self.core = core

    def check(self, conn: Connection) -> bool:
        """One round for one socket: True if it was closed for a missed pong."""
        liveness = conn.liveness
        if liveness is None or not conn.is_open:
            return False
        deadline = self.core.timings.scaled("pong_deadline_s")
        # D3: upstream (mid-2025) pinged but never checked pongs, so a silent link stayed
        # open until TCP gave up; ``pong_deadline_s = 0`` is the same switch.
        enforced = deadline > 0 and not self.core.defects.enabled("no_pong_deadline")
        if enforced and liveness.pong_age() > deadline:
            logger.info("%r: no pong for %.3fs, closing", conn, liveness.pong_age())
            self.core.metrics.pong_timeouts.labels(kind=conn.kind.value).inc()
            conn.close(CloseCode.GOING_AWAY, CloseReason.PING_TIMEOUT.value)
            return True
        liveness.ping()
        return False

    def round(self) -> None:
        for conn in list(self.core.connections):
            self.check(conn)

    async def run(self) -> None:
        interval = self.core.timings.scaled("ping_interval_s")
        if interval <= 0:
            return
        while True:
            slices = max(1, -(-len(self.core.connections) // ROUND_SLICE))
            conns: list[Connection] = []
            size = 0
            for index in range(slices):
                await asyncio.sleep(interval / slices)
                if index == 0:  # the sockets open when the round starts
                    conns = list(self.core.connections)
                    size = -(-len(conns) // slices)
                try:
                    for conn in conns[index * size : (index + 1) * size]:
                        self.check(conn)
                except Exception:
                    logger.exception("health round failed")
