"""Which toxic types exist: name -> (attribute validator, stage factory, pump hints).

The HTTP API and the pump look every type up here. Built-in Toxiproxy types register
from :mod:`wsquake.faults.toxics.builtin`; project extensions (``x-`` prefix,
spec/TOXIPROXY.md §3) come from the optional module ``wsquake.faults.toxics.extensions``,
which exposes ``EXTENSION_KINDS: list[ToxicKind]``; it is imported on first use, guarded,
so the proxy works before that module exists. Anything else can call :func:`register`.

Adding a type::

    from wsquake.faults.toxics.registry import ToxicKind

    EXTENSION_KINDS = [
        ToxicKind(
            name="x-ws-drop",
            validate=validate_ws_drop,   # (attributes) -> full attribute dict, or ValueError
            factory=WsDropStage,         # base.StageFactory
            pipelined=False,             # True for latency-like stages (1024-chunk queue)
        ),
    ]

``validate`` receives the raw JSON attributes with ``null`` values removed. On create that
is the request's ``attributes`` object; on update it is the stored attributes overlaid with
the request's (a partial merge, spec §2.2). It returns the full set, defaults filled in;
it raises ``ValueError`` (ideally :class:`~wsquake.faults.toxics.base.InvalidAttributes`)
naming the attribute, which the API answers with 400 ``bad request body: <message>``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wsquake.faults.toxics.base import StageFactory

logger = logging.getLogger(__name__)

Validator = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ToxicKind:
    """One toxic type.

    - ``pipelined``: the pump lets up to 1024 chunks wait at this stage before it stops
      reading the source (latency-like toxics); otherwise 2, so a stalled stage pushes
      back into TCP (spec §2.1).
    - ``closes_on_removal``: removing it (or ``/reset``) closes the link's connection
      because bytes were lost (``timeout``).
    - ``arms_reset``: its presence in a chain when a connection starts sets ``SO_LINGER 0``
      on both sockets, so any close is an RST (``reset_peer``).
    - ``ws_sync``: when added to a live link the stage gets a copy of the link's output
      WebSocket tracker in ``state["ws_tracker"]``; defaults to ``name.startswith("x-ws-")``.
    """

    name: str
    validate: Validator
    factory: StageFactory
    pipelined: bool = False
    closes_on_removal: bool = False
    arms_reset: bool = False
    ws_sync: bool | None = None

    @property
    def needs_ws_tracker(self) -> bool:
        return self.name.startswith("x-ws-") if self.ws_sync is None else self.ws_sync


_KINDS: dict[str, ToxicKind] = {}
_loaded = False


def register(kind: ToxicKind, *, replace: bool = False) -> None:
    """Make ``kind`` available to the API. Re-registering a name needs ``replace=True``."""
    if kind.name in _KINDS and not replace and _KINDS[kind.name] is not kind:
        raise ValueError(f"toxic type {kind.name!r} is already registered")
    _KINDS[kind.name] = kind


def unregister(name: str) -> None:
    """Remove a kind (tests that register a temporary type clean up with this)."""
    _KINDS.pop(name, None)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from wsquake.faults.toxics.builtin import BUILTIN_KINDS

    for kind in BUILTIN_KINDS:
        register(kind)
    try:
        extensions = importlib.import_module("wsquake.faults.toxics.extensions")
    except ModuleNotFoundError as exc:
        if exc.name != "wsquake.faults.toxics.extensions":
            raise
        logger.debug("no toxic extensions module; only built-in types")
        return
    kinds: Iterable[ToxicKind] = getattr(extensions, "EXTENSION_KINDS", ())
    for kind in kinds:
        register(kind)


def lookup(name: str) -> ToxicKind | None:
    """The kind called ``name``, or ``None`` (the API answers ``invalid toxic type``)."""
    _load()
    return _KINDS.get(name)


def kinds() -> dict[str, ToxicKind]:
    """Every registered kind, by name."""
    _load()
    return dict(_KINDS)
