"""Sensor streams (pure): per-(user, stream) sequence numbers and the rates parser."""

from __future__ import annotations

import json
import random

import pytest

from wsquake.protocol import frame_counter, parse_glasses
from wsquake.simulators.exceptions import SimulatorConfigError
from wsquake.simulators.glasses_streams import SensorSource, SensorStream, StreamRates

NS = 1_764_205_200_123_456_789


def test_every_stream_message_parses_and_carries_seq_and_sent_ns() -> None:
    source = SensorSource("u@example.com", random.Random(1))
    for stream in SensorStream:
        if stream is SensorStream.AUDIO_CHUNK:
            continue
        payload, seq = source.make(stream, NS)
        assert isinstance(payload, str) and seq == 1
        message = parse_glasses(payload)
        assert message.TYPE == stream.value
        assert message.extras == {"seq": 1, "sentNs": NS}
        assert json.loads(payload)["timestamp"] == NS // 1_000_000


def test_sequence_numbers_are_per_stream_and_probes_share_button_press() -> None:
    source = SensorSource("u@example.com", random.Random(1))
    assert [source.make(SensorStream.HEAD_POSITION, NS)[1] for _ in range(3)] == [1, 2, 3]
    assert source.make(SensorStream.BUTTON_PRESS, NS)[1] == 1
    assert source.make_probe(NS)[1] == 2
    assert source.make(SensorStream.BUTTON_PRESS, NS)[1] == 3
    assert source.last_seq("head_position") == 3 and source.last_seq("VAD") == 0


def test_audio_frames_carry_their_seq_as_the_frame_counter() -> None:
    source = SensorSource("u@example.com", random.Random(1))
    frames = [source.make(SensorStream.AUDIO_CHUNK, NS) for _ in range(3)]
    assert [frame_counter(f) for f, _ in frames] == [1, 2, 3]  # type: ignore[arg-type]
    assert all(len(f) == 3200 for f, _ in frames)  # 100 ms of s16le 16 kHz mono


def test_ios_location_resend_repeats_the_last_fix_with_a_new_seq() -> None:
    source = SensorSource("u@example.com", random.Random(1))
    assert source.resend_location(NS) is None
    first, _ = source.make(SensorStream.LOCATION_UPDATE, NS)
    resent = source.resend_location(NS + 1)
    assert resent is not None
    a, b = json.loads(first), json.loads(resent[0])
    assert (a["lat"], a["lng"]) == (b["lat"], b["lng"]) and (a["seq"], b["seq"]) == (1, 2)


def test_rates_parse_the_cli_form() -> None:
    rates = StreamRates.parse("head_position=2, VAD=0.5,audio_chunk=10")
    assert [(s.value, r) for s, r in rates.enabled()] == [
        ("head_position", 2.0),
        ("VAD", 0.5),
        ("audio_chunk", 10.0),
    ]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("nose=1", "rates"),
        ("head_position", "rates"),
        ("head_position=fast", "rates.head_position"),
        ("head_position=-1", "rates.head_position"),
        ("vad=inf", "rates.vad"),
    ],
)
def test_bad_rates_name_the_key(text: str, key: str) -> None:
    with pytest.raises(SimulatorConfigError) as info:
        StreamRates.parse(text)
    assert info.value.key == key
