"""The app registry: which packages exist, their keys, permissions and webhook URLs."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from wsquake.cloud.settings import AppEntry

__all__ = ["BUILTIN_DASHBOARD", "AppRegistry"]

BUILTIN_DASHBOARD = "system.augmentos.dashboard"
"""Package name of the in-process dashboard used when the registry has no
``system_dashboard`` entry (upstream's dashboard package)."""


class AppRegistry:
    def __init__(self, apps: Iterable[AppEntry]) -> None:
        self._apps = {a.package_name: a for a in apps}

    def get(self, package: str) -> AppEntry | None:
        return self._apps.get(package)

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(self._apps)

    def dashboard(self) -> AppEntry | None:
        """The registry's ``system_dashboard`` entry, if any."""
        for app in self._apps.values():
            if app.type == "system_dashboard":
                return app
        return None

    @staticmethod
    def api_key_matches(entry: AppEntry, api_key: str) -> bool:
        """Plain match, or the registry holds the sha256 hex of the key (as upstream)."""
        given = api_key.encode()
        if hmac.compare_digest(given, entry.api_key.encode()):
            return True
        hashed = hashlib.sha256(given).hexdigest().encode()
        return hmac.compare_digest(hashed, entry.api_key.lower().encode())
