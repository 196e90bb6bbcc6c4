"""Errors of the glasses simulators (the app-server side keeps its own in its modules).

Tree::

    SimulatorError                 base of the glasses-side simulator errors
    ├── SimulatorConfigError       a bad setting; names the key (also a ValueError)
    └── GlassesError               a glasses client operation failed
        └── GlassesNotConnected    an operation needs an open, acked socket and has none
"""

from __future__ import annotations

__all__ = ["GlassesError", "GlassesNotConnected", "SimulatorConfigError", "SimulatorError"]


class SimulatorError(Exception):
    """Base of the glasses-side simulator errors."""


class SimulatorConfigError(SimulatorError, ValueError):
    """A bad setting; ``key`` names it, e.g. ``rates.head_position``."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class GlassesError(SimulatorError):
    """A glasses client operation failed."""


class GlassesNotConnected(GlassesError):
    """The operation needs an open, acked glasses socket and there is none right now."""
