"""Garbage-collector thresholds for the long-running harness processes.

The cloud, the app fleet and the glasses fleet hold hundreds of thousands of objects
(about 350 per user in the cloud: 710,000 at 2,000 users). With CPython's default
thresholds (700, 10, 10) a full collection runs whenever the heap has grown by a quarter,
and each one walks every object: 0.6-0.9 s with the cloud's event loop stopped at 2,000
users, which alone pushed the echo-probe p99 past 250 ms. Young collections that see
20,000 allocations at a time and a full collection only every 40 million allocations (and
never while the heap is stable) keep pauses to a few milliseconds; the objects a session
leaves in reference cycles are still collected, later.

``wsquake cloud``, ``wsquake apps`` and ``wsquake glasses`` run under :func:`server_gc`;
the previous thresholds come back on exit (so an in-process caller, e.g. a test, keeps
its own).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["SERVER_GC_THRESHOLDS", "server_gc"]

#: (allocations per young collection, young collections per middle one, middle per full)
SERVER_GC_THRESHOLDS = (20_000, 20, 100)


@contextlib.contextmanager
def server_gc(thresholds: tuple[int, int, int] = SERVER_GC_THRESHOLDS) -> Iterator[None]:
    """Run the body with ``thresholds``; restore the previous ones afterwards."""
    if len(thresholds) != 3 or any(t < 1 for t in thresholds):
        raise ValueError(f"gc thresholds must be three integers >= 1, got {thresholds!r}")
    previous = gc.get_threshold()
    gc.set_threshold(*thresholds)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
