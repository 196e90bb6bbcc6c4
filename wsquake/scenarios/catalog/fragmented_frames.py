"""Fragmented frames: both links' bytes sliced into ~16-byte TCP chunks for 20 s.

The Toxiproxy ``slicer`` splits every write into small chunks with short delays, so
WebSocket frame headers and payloads arrive in pieces (§2 Framing). A correct parser on
each side (the sans-I/O cores) reassembles them; nothing should close or be lost.
Expected on the reference cloud: **pass** — no disruption, no loss, duplicate or
reordering, no leak.
"""

from wsquake.faults.client import Slicer
from wsquake.scenarios.catalog._common import (
    CLEAN_LIFECYCLE,
    FLEET,
    HEALTH,
    NO_LEAKS,
    SUBSCRIPTIONS,
    undisturbed,
)
from wsquake.scenarios.model import CheckSpec, FaultStep, Link, Scenario

_SLICER = Slicer(average_size=16, size_variation=8, delay_us=200)

SCENARIO = Scenario(
    name="fragmented-frames",
    description="Glasses and app links sliced into ~16-byte chunks: frames must reassemble.",
    fleet=FLEET,
    time_scale=0.1,
    warmup_s=5.0,
    steps=(
        FaultStep(Link.GLASSES, _SLICER, at_s=5.0, duration_s=20.0, name="slice-glasses"),
        FaultStep(Link.APP, _SLICER, at_s=5.0, duration_s=20.0, name="slice-app"),
    ),
    recovery_window_s=10.0,
    quiesce_s=5.0,
    checks=(
        undisturbed(),
        CheckSpec.of("delivery", "delivery.lost == 0", "delivery.duplicated == 0",
                     "delivery.reordered == 0"),
        SUBSCRIPTIONS,
        NO_LEAKS,
        HEALTH,
        CLEAN_LIFECYCLE,
    ),
    tags=("regression", "framing"),
)
