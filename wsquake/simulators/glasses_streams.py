"""What a simulated glasses client sends: sensor streams with per-(user, stream) sequence
numbers (sans-I/O: no clock reads, randomness from an injected ``random.Random``).

Every JSON event carries two extra fields beside its wire fields: ``seq`` (1, 2, 3, … per
user and stream, for the client's lifetime, across reconnects) and ``sentNs`` (the wall
clock at send, ns), so the receiving app can account delivery and latency. Binary audio
frames carry their ``seq`` as the u32 frame counter (PROTOCOL.md §2). Echo probes
(:mod:`wsquake.simulators.probe`) take the next ``button_press`` seq.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, fields

from wsquake.protocol import (
    ButtonPress,
    GlassesBatteryUpdate,
    HeadPosition,
    HeadPositionValue,
    LocationUpdate,
    Message,
    PressType,
    Vad,
    make_audio_frame,
    serialise,
)
from wsquake.simulators.exceptions import SimulatorConfigError
from wsquake.simulators.probe import PROBE_STREAM, make_probe

__all__ = ["SensorSource", "SensorStream", "StreamRates"]

AUDIO_FRAME_MS = 100


class SensorStream(enum.StrEnum):
    """The streams the glasses simulator can produce (wire type names)."""

    HEAD_POSITION = "head_position"
    BUTTON_PRESS = "button_press"
    LOCATION_UPDATE = "location_update"
    GLASSES_BATTERY_UPDATE = "glasses_battery_update"
    VAD = "VAD"
    AUDIO_CHUNK = "audio_chunk"


_FIELD_OF = {
    SensorStream.HEAD_POSITION: "head_position",
    SensorStream.BUTTON_PRESS: "button_press",
    SensorStream.LOCATION_UPDATE: "location_update",
    SensorStream.GLASSES_BATTERY_UPDATE: "glasses_battery_update",
    SensorStream.VAD: "vad",
    SensorStream.AUDIO_CHUNK: "audio_chunk",
}


@dataclass(frozen=True, slots=True)
class StreamRates:
    """Events per second (wall time) per stream; 0 turns a stream off.

    ``audio_chunk`` counts binary PCM frames of 100 ms (10/s is real time).
    """

    head_position: float = 0.0
    button_press: float = 0.0
    location_update: float = 0.0
    glasses_battery_update: float = 0.0
    vad: float = 0.0
    audio_chunk: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SimulatorConfigError(f"rates.{f.name}", f"expected a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise SimulatorConfigError(
                    f"rates.{f.name}", f"expected a finite number >= 0, got {value!r}"
                )

    def enabled(self) -> Iterator[tuple[SensorStream, float]]:
        """The streams with a rate above 0, in a fixed order."""
        for stream, name in _FIELD_OF.items():
            rate = float(getattr(self, name))
            if rate > 0:
                yield stream, rate

    @classmethod
    def parse(cls, text: str) -> StreamRates:
        """``"head_position=1,button_press=0.5"`` (CLI form; ``VAD`` or ``vad``)."""
        values: dict[str, float] = {}
        for raw in text.split(","):
            item = raw.strip()
            if not item:
                continue
            name, sep, number = item.partition("=")
            name = name.strip()
            key = "vad" if name in ("VAD", "vad") else name
            if not sep or key not in {f.name for f in fields(cls)}:
                known = ", ".join(s.value for s in SensorStream)
                raise SimulatorConfigError(
                    "rates", f"expected stream=rate with stream one of {known}, got {item!r}"
                )
            try:
                values[key] = float(number)
            except ValueError:
                raise SimulatorConfigError(
                    f"rates.{key}", f"expected a number, got {number.strip()!r}"
                ) from None
        return cls(**values)


class SensorSource:
    """Builds one user's sensor messages and owns their sequence numbers."""

    def __init__(self, user: str, rng: random.Random) -> None:
        self.user = user
        self._rng = rng
        self._seq: dict[str, int] = {}
        self._head_up = False
        self._vad = False
        self._battery = 100.0
        self._lat = rng.uniform(-60.0, 60.0)
        self._lng = rng.uniform(-170.0, 170.0)
        self.last_location: LocationUpdate | None = None

    def next_seq(self, stream: str) -> int:
        """The next sequence number of ``stream`` for this user (1-based)."""
        seq = self._seq.get(stream, 0) + 1
        self._seq[stream] = seq
        return seq

    def last_seq(self, stream: str) -> int:
        """The last sequence number used on ``stream`` (0 if none)."""
        return self._seq.get(stream, 0)

    def make(self, stream: SensorStream, sent_ns: int) -> tuple[str | bytes, int]:
        """The next frame of ``stream`` (text or binary) and its ``seq``."""
        seq = self.next_seq(stream.value)
        if stream is SensorStream.AUDIO_CHUNK:
            return make_audio_frame(seq & 0xFFFFFFFF, AUDIO_FRAME_MS), seq
        return serialise(self._message(stream, seq, sent_ns)), seq

    def make_probe(self, sent_ns: int) -> tuple[str, int]:
        """An echo probe: a ``button_press`` taking that stream's next seq."""
        seq = self.next_seq(PROBE_STREAM)
        return serialise(make_probe(seq, sent_ns)), seq

    def resend_location(self, sent_ns: int) -> tuple[str, int] | None:
        """iOS re-sends its last location after ``connection_init`` (a new seq)."""
        if self.last_location is None:
            return None
        seq = self.next_seq(SensorStream.LOCATION_UPDATE.value)
        message = LocationUpdate(
            lat=self.last_location.lat,
            lng=self.last_location.lng,
            accuracy=self.last_location.accuracy,
            timestamp=sent_ns // 1_000_000,
            extras={"seq": seq, "sentNs": sent_ns},
        )
        return serialise(message), seq

    def _message(self, stream: SensorStream, seq: int, sent_ns: int) -> Message:
        extras = {"seq": seq, "sentNs": sent_ns}
        ms = sent_ns // 1_000_000
        match stream:
            case SensorStream.HEAD_POSITION:
                self._head_up = not self._head_up
                position = HeadPositionValue.UP if self._head_up else HeadPositionValue.DOWN
                return HeadPosition(position=position, timestamp=ms, extras=extras)
            case SensorStream.BUTTON_PRESS:
                press = PressType.LONG if self._rng.random() < 0.1 else PressType.SHORT
                return ButtonPress(button_id="main", press_type=press, timestamp=ms, extras=extras)
            case SensorStream.LOCATION_UPDATE:
                self._lat = max(-89.0, min(89.0, self._lat + self._rng.uniform(-1e-4, 1e-4)))
                self._lng = max(-179.0, min(179.0, self._lng + self._rng.uniform(-1e-4, 1e-4)))
                location = LocationUpdate(
                    lat=round(self._lat, 6),
                    lng=round(self._lng, 6),
                    accuracy=round(self._rng.uniform(3.0, 20.0), 1),
                    timestamp=ms,
                    extras=extras,
                )
                self.last_location = location
                return location
            case SensorStream.GLASSES_BATTERY_UPDATE:
                self._battery = self._battery - 0.5 if self._battery > 5 else 100.0
                return GlassesBatteryUpdate(
                    level=int(self._battery), charging=False, timestamp=ms, extras=extras
                )
            case SensorStream.VAD:
                self._vad = not self._vad
                return Vad(status=self._vad, timestamp=ms, extras=extras)
        raise AssertionError(f"no JSON message for stream {stream!r}")
