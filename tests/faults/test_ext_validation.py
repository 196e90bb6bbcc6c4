"""Extension attribute validation (X08) and registration, plus x-drop-chunk (X07)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.faults.test_ext_streams import Driver
from wsquake.faults.toxics import drop_chunk
from wsquake.faults.toxics.base import InvalidAttributes
from wsquake.faults.toxics.registry import lookup

DEFAULTS = {
    "x-ws-drop": {"probability": 1.0, "every": 0, "kind": "any"},
    "x-ws-drop-type": {
        "pattern": "audio_.*", "field": "type", "probability": 1.0, "max_bytes": 1048576,
    },
    "x-ws-delay": {"latency": 0, "jitter": 0, "kind": "any", "pattern": "", "field": "type"},
    "x-ws-close": {
        "code": 1000, "reason": "", "after_messages": 0, "after_ms": 0, "tcp_close_after": 1000,
    },
    "x-drop-chunk": {"probability": 1.0, "burst": 1},
}


def validate(kind: str, attributes: dict[str, Any]) -> dict[str, Any]:
    found = lookup(kind)
    assert found is not None, kind
    return found.validate(attributes)


@pytest.mark.parametrize("kind", sorted(DEFAULTS))
def test_omitted_attributes_are_echoed_in_full_with_defaults(kind: str) -> None:
    given = {"pattern": "audio_.*"} if kind == "x-ws-drop-type" else {}
    assert validate(kind, given) == DEFAULTS[kind]


@pytest.mark.parametrize("kind", sorted(DEFAULTS))
def test_unknown_attribute_is_rejected_by_name(kind: str) -> None:
    given: dict[str, Any] = {"pattern": "x"} if kind == "x-ws-drop-type" else {}
    with pytest.raises(InvalidAttributes, match=f"{kind}: unknown attribute 'bogus'"):
        validate(kind, {**given, "bogus": 1})


@pytest.mark.parametrize(
    ("kind", "attributes", "message"),
    [
        ("x-ws-drop", {"probability": 1.5}, r"'probability' must be a number in \[0, 1\], got 1.5"),
        ("x-ws-drop", {"probability": -0.1}, "'probability'"),
        ("x-ws-drop", {"probability": "0.5"}, "'probability'.*got \"0.5\""),
        ("x-ws-drop", {"probability": True}, "'probability'.*got true"),
        ("x-ws-drop", {"every": -1}, "'every' must be an integer >= 0"),
        ("x-ws-drop", {"every": 2.0}, "'every' must be an integer"),
        ("x-ws-drop", {"every": 1 << 63}, "'every'"),
        ("x-ws-drop", {"kind": "ping"}, "'kind' must be one of \"any\", \"text\", \"binary\""),
        ("x-ws-drop-type", {}, "missing required attribute 'pattern'"),
        ("x-ws-drop-type", {"pattern": ""}, "'pattern' must be a non-empty"),
        ("x-ws-drop-type", {"pattern": "audio_("}, "'pattern' is not a valid regular expression"),
        ("x-ws-drop-type", {"pattern": "a", "field": "data..type"}, "'field' must be a dotted"),
        ("x-ws-drop-type", {"pattern": "a", "max_bytes": -5}, "'max_bytes'"),
        ("x-ws-delay", {"latency": -1}, "'latency' must be an integer >= 0"),
        ("x-ws-delay", {"latency": 100.0}, "'latency'"),
        ("x-ws-delay", {"jitter": "5"}, "'jitter'"),
        ("x-ws-delay", {"pattern": "["}, "'pattern' is not a valid regular expression"),
        ("x-ws-close", {"code": 1006}, "'code' must be 0 \\(no close frame\\), 1000-1003"),
        ("x-ws-close", {"code": 1005}, "'code'"),
        ("x-ws-close", {"code": 1015}, "'code'"),
        ("x-ws-close", {"code": 2999}, "'code'"),
        ("x-ws-close", {"code": 5000}, "'code'"),
        ("x-ws-close", {"code": 1000.0}, "'code'"),
        ("x-ws-close", {"reason": "é" * 62}, "'reason' is 124 UTF-8 bytes; at most 123"),
        ("x-ws-close", {"reason": 5}, "'reason' must be a string"),
        ("x-ws-close", {"after_messages": -1}, "'after_messages'"),
        ("x-ws-close", {"tcp_close_after": -1}, "'tcp_close_after'"),
        ("x-drop-chunk", {"burst": 0}, "'burst' must be an integer >= 1"),
        ("x-drop-chunk", {"probability": 2}, "'probability'"),
    ],
)
def test_bad_attribute_is_rejected_naming_it(
    kind: str, attributes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidAttributes, match=message):
        validate(kind, attributes)


def test_attributes_must_be_an_object() -> None:
    with pytest.raises(InvalidAttributes, match="attributes must be a JSON object"):
        validate("x-ws-drop", [1, 2])  # type: ignore[arg-type]


def test_valid_edge_values_are_accepted() -> None:
    assert validate("x-ws-close", {"code": 0, "reason": "x" * 123})["code"] == 0
    for code in (1000, 1003, 1007, 1014, 3000, 4999):
        assert validate("x-ws-close", {"code": code})["code"] == code
    assert validate("x-ws-drop", {"probability": 0})["probability"] == 0.0
    assert validate("x-ws-drop", {"probability": 1, "every": 3}) == {
        "probability": 1.0, "every": 3, "kind": "any",
    }


def test_partial_update_merge_validates_against_stored_values() -> None:
    stored = validate("x-ws-close", {"code": 4001, "reason": "chaos"})
    merged = validate("x-ws-close", {**stored, "after_messages": 3})
    assert merged == {**stored, "after_messages": 3}


def test_only_the_delay_kind_is_pipelined() -> None:
    pipelined = {k: lookup(k).pipelined for k in DEFAULTS}  # type: ignore[union-attr]
    assert pipelined == {k: k == "x-ws-delay" for k in DEFAULTS}
    assert all(lookup(k).needs_ws_tracker for k in DEFAULTS if k.startswith("x-ws-"))  # type: ignore[union-attr]
    assert not lookup("x-drop-chunk").needs_ws_tracker  # type: ignore[union-attr]


# -- x-drop-chunk ---------------------------------------------------------------------


def chunk_stage(seed: int = 1, state: dict[str, Any] | None = None,
                **attributes: Any) -> drop_chunk.DropChunkStage:
    return drop_chunk.factory(
        attributes, random.Random(seed), stream="downstream", state={} if state is None else state
    )


def test_drop_chunk_probability_one_delivers_nothing_and_never_closes() -> None:
    driver = Driver(chunk_stage())
    for i in range(20):
        driver.feed(bytes([i]) * 10)
    driver.eof()
    driver.flush()
    assert driver.output == b""
    assert driver.closes == []


def test_drop_chunk_probability_zero_delivers_every_chunk_unchanged() -> None:
    driver = Driver(chunk_stage(probability=0.0))
    data = [bytes([i]) * (i + 1) for i in range(50)]
    for part in data:
        driver.feed(part)
    assert [d for _, d, _ in driver.sent] == data


def test_drop_chunk_burst_drops_runs_of_chunks() -> None:
    state: dict[str, Any] = {}
    driver = Driver(chunk_stage(seed=8, state=state, probability=0.2, burst=3))
    for i in range(300):
        driver.feed(i.to_bytes(2, "big"))
    kept = {int.from_bytes(d, "big") for _, d, _ in driver.sent}
    dropped = sorted(set(range(300)) - kept)
    assert dropped, "expected some drops"
    # Every run of dropped chunks is a whole number of bursts (runs may touch), except
    # possibly the last one, cut off by the end of the input.
    runs: list[int] = []
    for previous, i in zip([-2, *dropped], dropped, strict=False):
        if i == previous + 1:
            runs[-1] += 1
        else:
            runs.append(1)
    assert all(r % 3 == 0 for r in runs[:-1])
    assert state["x-drop-chunk"].dropped_chunks == len(dropped)


def test_drop_chunk_is_reproducible_from_the_seed() -> None:
    def run(seed: int) -> list[bytes]:
        driver = Driver(chunk_stage(seed=seed, probability=0.5))
        for i in range(60):
            driver.feed(bytes([i]))
        return [d for _, d, _ in driver.sent]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert 12 <= 60 - len(run(1)) <= 48


def test_drop_chunk_burst_continues_across_an_update() -> None:
    state: dict[str, Any] = {}
    driver = Driver(chunk_stage(state=state, probability=1.0, burst=4))
    driver.feed(b"a")  # starts a burst of 4
    driver.stage = chunk_stage(state=state, probability=0.0, burst=4)
    for part in (b"b", b"c", b"d", b"e"):
        driver.feed(part)
    assert driver.output == b"e"
