"""The link pump with an injected manual clock and a recording destination: no sockets.

``ManualLoop`` provides the two things a link takes from the event loop (``time`` and
``call_at``); ``advance(dt)`` runs due timers in order. Timelines are in comments.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from typing import Any

from wsquake.faults.proxy.link import Link
from wsquake.faults.proxy.toxic_set import ToxicEntry
from wsquake.faults.toxics.registry import lookup

T0 = 100.0


class _Handle:
    def __init__(self, when: float, callback: Callable[..., None], args: tuple) -> None:
        self._when, self.callback, self.args, self.cancelled = when, callback, args, False

    def when(self) -> float:
        return self._when

    def cancel(self) -> None:
        self.cancelled = True


class ManualLoop:
    def __init__(self) -> None:
        self.now = T0
        self._heap: list[tuple[float, int, _Handle]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., None], *args: Any) -> _Handle:
        handle = _Handle(when, callback, args)
        heapq.heappush(self._heap, (when, next(self._seq), handle))
        return handle

    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, handle = heapq.heappop(self._heap)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            handle.callback(*handle.args)
        self.now = target


class Sink:
    """The destination transport: records what was written."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False


class Owner:
    def __init__(self) -> None:
        self.paused = 0
        self.resumed = 0
        self.ended: list[bool] = []
        self.failures: list[Exception] = []

    def pause_source(self, link: Link) -> None:
        self.paused += 1

    def resume_source(self, link: Link) -> None:
        self.resumed += 1

    def output_ended(self, link: Link, full: bool) -> None:
        self.ended.append(full)

    def fail(self, link: Link, exc: Exception) -> None:
        self.failures.append(exc)


def entry(type_name: str, toxicity: float = 1.0, **attributes: Any) -> ToxicEntry:
    kind = lookup(type_name)
    assert kind is not None
    return ToxicEntry(
        f"{type_name}_{len(attributes)}",
        kind,
        "downstream",
        "downstream",
        toxicity,
        kind.validate(attributes),
    )


def make_link(*entries: ToxicEntry) -> tuple[Link, ManualLoop, Sink, Owner]:
    loop, sink, owner = ManualLoop(), Sink(), Owner()
    link = Link(owner, "downstream", loop, lambda name: random.Random(name))  # type: ignore[arg-type]
    link.dest = sink  # type: ignore[assignment]
    link.build(list(entries), loop.now)
    return link, loop, sink, owner


def test_no_toxics_writes_straight_through() -> None:
    link, _, sink, _ = make_link()
    link.feed(b"abc")
    assert sink.data == b"abc" and link.received == link.sent == 3


def test_latency_holds_each_chunk_until_its_time_in_order() -> None:
    link, loop, sink, _ = make_link(entry("latency", latency=100))
    link.feed(b"a")  # t=0: leaves at 100 ms
    loop.advance(0.050)
    link.feed(b"b")  # t=50 ms: leaves at 150 ms
    assert sink.data == b""
    loop.advance(0.050)
    assert sink.data == b"a"
    loop.advance(0.050)
    assert sink.data == b"ab"


def test_source_eof_waits_behind_held_chunks() -> None:
    link, loop, sink, owner = make_link(entry("latency", latency=100))
    link.feed(b"data")
    link.source_eof(True)
    assert owner.ended == []
    loop.advance(0.100)
    assert sink.data == b"data" and owner.ended == [True]


def test_removing_latency_releases_everything_held_at_once_in_order() -> None:
    toxic = entry("latency", latency=60_000)
    link, _, sink, _ = make_link(toxic)
    for i in range(5):
        link.feed(b"%d" % i)
    link.remove(toxic)
    assert sink.data == b"01234" and link.slots == []


def test_limit_data_ends_the_output_after_exactly_its_bytes() -> None:
    link, _, sink, owner = make_link(entry("limit_data", bytes=5))
    link.feed(b"abc")
    link.feed(b"defgh")
    link.feed(b"ignored")
    assert sink.data == b"abcde" and owner.ended == [True]


def test_close_from_a_stage_lets_later_stages_drain_first() -> None:
    # limit_data closes at t=0, but the latency after it still delivers its chunk at 100 ms.
    link, loop, sink, owner = make_link(entry("limit_data", bytes=2), entry("latency", latency=100))
    link.feed(b"xy")
    assert owner.ended == []
    loop.advance(0.100)
    assert sink.data == b"xy" and owner.ended == [True]


def test_removing_timeout_ends_the_output() -> None:
    toxic = entry("timeout")
    link, _, sink, owner = make_link(toxic)
    link.feed(b"lost")
    link.remove(toxic)
    assert sink.data == b"" and owner.ended == [True]


def test_timeout_closes_after_the_last_dropped_chunk() -> None:
    link, loop, _, owner = make_link(entry("timeout", timeout=100))
    loop.advance(0.080)
    link.feed(b"x")  # re-arms: closes at 180 ms
    loop.advance(0.080)
    assert owner.ended == []
    loop.advance(0.030)
    assert owner.ended == [True]


def test_stalled_bandwidth_holds_until_an_update_restarts_it() -> None:
    toxic = entry("bandwidth")  # rate 0
    link, loop, sink, _ = make_link(toxic)
    link.feed(b"held")
    loop.advance(10)
    assert sink.data == b""
    toxic.attributes = {"rate": 1000}
    link.update(toxic)
    assert sink.data == b"held"


def test_a_stage_over_its_queue_limit_pauses_the_source_until_drained() -> None:
    # slicer: 1000 bytes -> 10 pieces 1 ms apart; more than 2 queued pauses the source.
    link, loop, sink, owner = make_link(entry("slicer", average_size=100, delay=1000))
    link.feed(b"z" * 1000)
    assert owner.paused == 1 and owner.resumed == 0
    loop.advance(0.020)
    assert sink.data == b"z" * 1000 and owner.resumed == 1


def test_toxicity_zero_is_a_passthrough_until_an_update_redraws_it() -> None:
    toxic = entry("latency", toxicity=0.0, latency=100)
    link, loop, sink, _ = make_link(toxic)
    link.feed(b"a")
    assert sink.data == b"a" and link.describe()[0]["active"] is False
    toxic.toxicity = 1.0
    link.update(toxic)
    link.feed(b"b")
    assert sink.data == b"a" and link.describe()[0]["active"] is True
    loop.advance(0.100)
    assert sink.data == b"ab"


def test_append_splices_the_new_stage_at_the_end_of_the_chain() -> None:
    first = entry("latency", latency=100)
    link, loop, sink, _ = make_link(first)
    link.append(entry("limit_data", bytes=1))
    link.feed(b"abc")
    loop.advance(0.100)
    assert sink.data == b"a"
    assert [s.entry.kind.name for s in link.slots] == ["latency", "limit_data"]


def test_close_cancels_every_timer_and_drops_held_bytes() -> None:
    link, loop, sink, owner = make_link(entry("latency", latency=100))
    link.feed(b"x")
    link.close()
    loop.advance(1)
    assert sink.data == b"" and owner.ended == []
