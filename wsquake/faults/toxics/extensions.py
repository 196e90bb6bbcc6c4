"""The project's extension toxic types (spec/TOXIPROXY.md §3), for the registry.

:mod:`wsquake.faults.toxics.registry` imports this module on first use and registers
every kind in :data:`EXTENSION_KINDS`. Types start with ``x-`` so they never collide with
Toxiproxy's own ``[a-z_]+`` names; the real server answers them with 400
``invalid toxic type``.
"""

from __future__ import annotations

from wsquake.faults.toxics import drop_chunk, ws_close, ws_delay, ws_drop, ws_drop_type
from wsquake.faults.toxics.registry import ToxicKind

EXTENSION_KINDS: list[ToxicKind] = [
    ToxicKind(ws_drop.TYPE, ws_drop.validate_attributes, ws_drop.factory),
    ToxicKind(ws_drop_type.TYPE, ws_drop_type.validate_attributes, ws_drop_type.factory),
    ToxicKind(ws_delay.TYPE, ws_delay.validate_attributes, ws_delay.factory, pipelined=True),
    ToxicKind(ws_close.TYPE, ws_close.validate_attributes, ws_close.factory),
    ToxicKind(drop_chunk.TYPE, drop_chunk.validate_attributes, drop_chunk.factory),
]
