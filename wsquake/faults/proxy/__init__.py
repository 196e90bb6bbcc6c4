"""The embedded Toxiproxy-compatible fault proxy (spec/TOXIPROXY.md §0-§3)."""

from wsquake.faults.proxy.server import EmbeddedToxiproxy

__all__ = ["EmbeddedToxiproxy"]
