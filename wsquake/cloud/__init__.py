"""The reference cloud: HTTP + WebSocket server speaking PROTOCOL.md."""

from wsquake.cloud.auth import mint_token
from wsquake.cloud.server import CloudServer
from wsquake.cloud.settings import AppEntry, CloudSettings, Defects, Timings, load_cloud_settings

__all__ = [
    "AppEntry",
    "CloudServer",
    "CloudSettings",
    "Defects",
    "Timings",
    "load_cloud_settings",
    "mint_token",
]
