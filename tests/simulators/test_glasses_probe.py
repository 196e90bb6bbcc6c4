"""The echo-probe contract (pure): what the glasses send and what they accept back."""

from __future__ import annotations

from typing import Any

import pytest

from wsquake.protocol import DisplayEvent, parse_glasses, serialise, to_dict
from wsquake.simulators.probe import (
    ECHO_VIEW,
    Probe,
    echo_layout,
    echo_text,
    make_probe,
    parse_echo,
    probe_from_data,
)


def test_probe_is_a_button_press_carrying_seq_and_sent_ns() -> None:
    wire = serialise(make_probe(12, 1764205200123456789))
    assert wire == (
        '{"type":"button_press","buttonId":"probe","pressType":"short",'
        '"seq":12,"sentNs":1764205200123456789}'
    )
    parsed = parse_glasses(wire)
    assert probe_from_data(parsed) == Probe(12, 1764205200123456789)
    assert probe_from_data(to_dict(parsed)) == Probe(12, 1764205200123456789)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "button_press", "buttonId": "main", "pressType": "short", "seq": 1, "sentNs": 2},
        {"type": "head_position", "buttonId": "probe", "seq": 1, "sentNs": 2},
        {"type": "button_press", "buttonId": "probe", "seq": "1", "sentNs": 2},
        {"type": "button_press", "buttonId": "probe", "seq": True, "sentNs": 2},
        {"type": "button_press", "buttonId": "probe", "seq": 1},
        "button_press",
        None,
    ],
)
def test_things_that_are_not_probes_are_ignored(data: Any) -> None:
    assert probe_from_data(data) is None


def test_echo_reply_round_trips_through_a_display_event() -> None:
    probe = Probe(7, 99)
    assert echo_text(probe) == "echo 7 99"
    display = DisplayEvent(package_name="com.ex.echo", view=ECHO_VIEW, layout=echo_layout(probe))
    assert parse_echo(display) == probe
    assert parse_echo(to_dict(display)) == probe


@pytest.mark.parametrize(
    "layout",
    [
        {"layoutType": "text_wall", "text": "hello"},
        {"layoutType": "text_wall", "text": "echo 7"},
        {"layoutType": "text_wall", "text": "echo x 99"},
        {"layoutType": "reference_card", "title": "t", "text": "echo 7 99"},
        {"layoutType": "text_wall", "text": 7},
    ],
)
def test_other_displays_are_not_echo_replies(layout: dict[str, Any]) -> None:
    assert parse_echo({"type": "display_event", "layout": layout}) is None
