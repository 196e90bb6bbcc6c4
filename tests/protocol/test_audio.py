"""Binary audio frames (§2): PCM with a u32 LE frame counter in the first 4 bytes."""

from __future__ import annotations

import pytest

from wsquake.protocol import frame_counter, frame_duration_ms, make_audio_frame


@pytest.mark.parametrize("counter", [0, 1, 255, 65_536, 0xFFFFFFFF])
def test_frame_counter_round_trips(counter: int) -> None:
    assert frame_counter(make_audio_frame(counter)) == counter


def test_counter_is_little_endian_in_the_first_four_bytes() -> None:
    assert make_audio_frame(0x01020304)[:4] == b"\x04\x03\x02\x01"


def test_frame_length_matches_16_khz_mono_s16le() -> None:
    frame = make_audio_frame(1, duration_ms=100)
    assert len(frame) == 3200
    assert frame_duration_ms(frame) == 100.0


def test_short_frame_has_no_counter() -> None:
    assert frame_counter(b"\x01\x02") is None


@pytest.mark.parametrize("counter", [-1, 2**32])
def test_counter_outside_u32_is_rejected(counter: int) -> None:
    with pytest.raises(ValueError, match="u32"):
        make_audio_frame(counter)


def test_frame_too_short_for_a_counter_is_rejected() -> None:
    with pytest.raises(ValueError, match="too short"):
        make_audio_frame(1, duration_ms=0)
