"""Locust finds this file when run from the repository root (``locust --host ws://…``).

The users live in :mod:`wsquake.load.locustfile`; see docs/load.md.
"""

from wsquake.load.locustfile import GlassesUser

__all__ = ["GlassesUser"]
