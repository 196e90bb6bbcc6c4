"""The echo app: the end-to-end probe (glasses -> cloud -> app -> cloud -> glasses).

In ``on_session`` it subscribes to the probe stream (``button_press``, see
:mod:`wsquake.simulators.probe`) and to any other configured streams. For every probe it
receives it at once sends a ``display_event`` whose ``text_wall`` reads
``echo <seq> <sentNs>`` on the probe contract's view, so the glasses measure the full
round trip. A reply made while the app socket is reconnecting is lost (the SDK's
``send()`` throws) and recorded as ``send``/``fail``.

Throttle note: the cloud limits ``main``-view displays to one per ``display_throttle_ms``
(300 ms) per app, newest wins; ``dashboard``-view requests are exempt. The probe contract
uses the dashboard view, and probes are seconds apart anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wsquake.protocol import DataStream
from wsquake.simulators.app_session import AppSession
from wsquake.simulators.probe import ECHO_VIEW, PROBE_STREAM, echo_layout, probe_from_data

__all__ = ["ECHO_SEND_STREAM", "EchoApp"]

ECHO_SEND_STREAM = "echo"
"""``stream`` of the ``send`` events that record echo replies (``seq`` = probe seq)."""


@dataclass(slots=True)
class EchoApp:
    """Answers every probe with its echo; also subscribes to ``streams``."""

    streams: Sequence[str] = ()
    echoed: int = 0
    lost: int = 0

    async def on_session(self, session: AppSession) -> None:
        await session.subscribe(PROBE_STREAM, self._on_probe)
        for stream in self.streams:
            if stream != PROBE_STREAM:
                await session.subscribe(stream)

    async def on_stop(self, session_id: str, user_id: str, reason: str) -> None:
        return None

    async def _on_probe(self, session: AppSession, message: DataStream) -> None:
        probe = probe_from_data(message.data)
        if probe is None:
            return  # an ordinary button press
        sent = await session.send_display(
            echo_layout(probe), view=ECHO_VIEW, seq=probe.seq, stream=ECHO_SEND_STREAM
        )
        if sent:
            self.echoed += 1
        else:
            self.lost += 1
