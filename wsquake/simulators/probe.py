"""The echo probe contract between the glasses simulator and the echo app.

A probe is a ``button_press`` the glasses send with ``buttonId: "probe"`` and two extra
fields: ``seq`` (the next sequence number of the user's ``button_press`` stream, shared
with ordinary button presses so delivery accounting sees one stream) and ``sentNs``
(the sender's wall clock, ns)::

    {"type":"button_press","buttonId":"probe","pressType":"short","seq":12,
     "sentNs":1764205200123456789}

The echo app answers every probe it receives with a ``display_event`` on the
``dashboard`` view (exempt from the cloud's main-view throttle, and not re-sent after a
reconnect) whose layout is ``text_wall`` with the text ``echo <seq> <sentNs>``::

    {"type":"display_event","packageName":"com.example.echo","sessionId":"…",
     "view":"dashboard","layout":{"layoutType":"text_wall","text":"echo 12 1764205200123456789"}}

The glasses match the reply by ``seq`` and record the round trip (``display`` event with
``probe_seq`` and ``rtt_ms``). Both sides use the helpers below; nothing else encodes
or decodes the probe format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.protocol import ButtonPress, DisplayEvent, PressType
from wsquake.protocol.layouts import text_wall

__all__ = [
    "ECHO_PREFIX",
    "ECHO_VIEW",
    "PROBE_BUTTON_ID",
    "PROBE_STREAM",
    "Probe",
    "echo_layout",
    "echo_text",
    "make_probe",
    "parse_echo",
    "probe_from_data",
]

PROBE_BUTTON_ID = "probe"
PROBE_STREAM = "button_press"
ECHO_PREFIX = "echo"
ECHO_VIEW = "dashboard"


@dataclass(frozen=True, slots=True)
class Probe:
    """One probe: the button_press stream's ``seq`` and the send time (wall ns)."""

    seq: int
    sent_ns: int


def make_probe(seq: int, sent_ns: int) -> ButtonPress:
    """The ``button_press`` message that carries probe ``seq``."""
    return ButtonPress(
        button_id=PROBE_BUTTON_ID,
        press_type=PressType.SHORT,
        extras={"seq": seq, "sentNs": sent_ns},
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def probe_from_data(data: Any) -> Probe | None:
    """The probe in a ``data_stream``'s ``data`` (a button_press dict), else ``None``.

    Accepts the wire dict (``buttonId``/``seq``/``sentNs``) or a parsed ``ButtonPress``.
    """
    if isinstance(data, ButtonPress):
        if data.button_id != PROBE_BUTTON_ID:
            return None
        fields: Mapping[str, Any] = data.extras
    elif isinstance(data, Mapping):
        if data.get("type") != PROBE_STREAM or data.get("buttonId") != PROBE_BUTTON_ID:
            return None
        fields = data
    else:
        return None
    seq, sent_ns = _int(fields.get("seq")), _int(fields.get("sentNs"))
    if seq is None or sent_ns is None:
        return None
    return Probe(seq, sent_ns)


def echo_text(probe: Probe) -> str:
    """The reply text: ``echo <seq> <sentNs>``."""
    return f"{ECHO_PREFIX} {probe.seq} {probe.sent_ns}"


def echo_layout(probe: Probe) -> dict[str, Any]:
    """The reply layout: a ``text_wall`` with :func:`echo_text`."""
    return text_wall(echo_text(probe))


def parse_echo(display: DisplayEvent | Mapping[str, Any]) -> Probe | None:
    """The probe a display_event answers, or ``None`` if it is not an echo reply."""
    layout = display.layout if isinstance(display, DisplayEvent) else display.get("layout")
    if not isinstance(layout, Mapping) or layout.get("layoutType") != "text_wall":
        return None
    text = layout.get("text")
    if not isinstance(text, str):
        return None
    parts = text.split(" ")
    if len(parts) != 3 or parts[0] != ECHO_PREFIX:
        return None
    try:
        return Probe(int(parts[1]), int(parts[2]))
    except ValueError:
        return None
