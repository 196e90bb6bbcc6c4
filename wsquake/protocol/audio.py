"""Binary audio frames (spec §2): raw PCM s16le, 16 kHz, mono.

*(project)* The glasses simulator writes a u32 little-endian frame counter into the first
4 bytes of each frame, so the cloud's synthetic transcriber and the checkers can count
audio loss. The cloud relays frames unchanged.
"""

from __future__ import annotations

import struct

__all__ = [
    "BYTES_PER_SAMPLE",
    "SAMPLE_RATE_HZ",
    "frame_counter",
    "frame_duration_ms",
    "make_audio_frame",
]

SAMPLE_RATE_HZ = 16_000
BYTES_PER_SAMPLE = 2
_COUNTER = struct.Struct("<I")


def make_audio_frame(counter: int, duration_ms: int = 100) -> bytes:
    """A silent PCM frame of ``duration_ms`` whose first 4 bytes hold ``counter``."""
    if not 0 <= counter <= 0xFFFFFFFF:
        raise ValueError(f"audio frame counter must fit in u32, got {counter}")
    size = SAMPLE_RATE_HZ * BYTES_PER_SAMPLE * duration_ms // 1000
    if size < _COUNTER.size:
        raise ValueError(f"audio frame of {duration_ms} ms is too short for a counter")
    return _COUNTER.pack(counter) + bytes(size - _COUNTER.size)


def frame_counter(frame: bytes) -> int | None:
    """The u32 LE counter in a frame's first 4 bytes, or ``None`` if it is shorter."""
    if len(frame) < _COUNTER.size:
        return None
    value: int = _COUNTER.unpack_from(frame)[0]
    return value


def frame_duration_ms(frame: bytes) -> float:
    """Audio duration of a PCM frame (any length; an odd trailing byte is ignored)."""
    return (len(frame) // BYTES_PER_SAMPLE) * 1000 / SAMPLE_RATE_HZ
