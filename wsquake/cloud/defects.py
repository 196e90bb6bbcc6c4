"""Known upstream defects (PROTOCOL.md §12): which ones a cloud runs with, and the CLI's
``--defects`` parsing.

Each defect is a branch at the one place where upstream's code differed, guarded by
``core.defects.enabled("<name>")`` and commented with its id; this module only answers
"which are in effect". D3, D4 and D5 are also in effect through their timing settings
(``pong_deadline_s = 0``, ``stop_webhook_timeout_s = 0``, ``grace_buffer_messages = 0``).
"""

from __future__ import annotations

from collections.abc import Iterable

from wsquake.cloud.settings import DEFECT_NAMES, CloudSettings
from wsquake.config import ConfigError

__all__ = ["DEFECT_IDS", "TIMING_SWITCHES", "active_defects", "parse_defect_names"]

DEFECT_IDS: dict[str, str] = {name: f"D{i}" for i, name in enumerate(DEFECT_NAMES, start=1)}
"""Switch name -> §12 id (``split_session_id`` -> ``D1`` ... ``dispose_without_stop_webhook``
-> ``D13``)."""

TIMING_SWITCHES: dict[str, str] = {
    "no_pong_deadline": "pong_deadline_s",
    "stop_webhook_unbounded": "stop_webhook_timeout_s",
    "drop_during_grace": "grace_buffer_messages",
}
"""Defects that a zero value of this timing setting also turns on (§12)."""


def active_defects(settings: CloudSettings) -> tuple[str, ...]:
    """Every cloud defect in effect, in §12 order: switches on, plus D3/D4/D5 through a
    zero timing setting."""
    timings = settings.timings
    return tuple(
        name
        for name in DEFECT_NAMES
        if settings.defects.enabled(name)
        or (name in TIMING_SWITCHES and getattr(timings, TIMING_SWITCHES[name]) == 0)
    )


def parse_defect_names(values: Iterable[str]) -> tuple[str, ...]:
    """``["split_session_id,no_pong_deadline", "D5"]`` -> switch names, deduplicated in
    order. Accepts names or ids (``D1``-``D13``, any case); raises :class:`ConfigError`
    naming every unknown entry."""
    by_id = {ident.lower(): name for name, ident in DEFECT_IDS.items()}
    names: list[str] = []
    unknown: list[str] = []
    for value in values:
        for raw in value.split(","):
            item = raw.strip()
            if not item:
                continue
            name = item if item in DEFECT_IDS else by_id.get(item.lower())
            if name is None:
                unknown.append(item)
            elif name not in names:
                names.append(name)
    if unknown:
        raise ConfigError(
            "--defects",
            f"unknown defect {', '.join(repr(u) for u in unknown)}"
            f" (known: {', '.join(DEFECT_NAMES)}; or D1-D13)",
        )
    return tuple(names)
