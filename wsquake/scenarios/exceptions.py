"""Errors of the scenario area.

Tree::

    ScenariosError                 base of every error raised by wsquake.scenarios
     ├── ScenarioError             a malformed scenario (model, loader); CLI exit 64
     │    └── ThresholdError       a threshold string that does not parse / names an unknown symbol
     └── CheckError                a checker was given options it cannot use

Messages name the offending field, e.g. ``steps[2].duration_s: must be > 0, got -1``.
"""

from __future__ import annotations

__all__ = ["CheckError", "ScenarioError", "ScenariosError", "ThresholdError"]


class ScenariosError(Exception):
    """Base of every error raised by :mod:`wsquake.scenarios`."""


class ScenarioError(ScenariosError, ValueError):
    """A scenario (or its file) is malformed; the message names the field."""


class ThresholdError(ScenarioError):
    """A threshold string is malformed; the message quotes the string."""


class CheckError(ScenariosError):
    """A checker cannot run with the options it was given."""
