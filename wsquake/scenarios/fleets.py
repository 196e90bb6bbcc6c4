"""Command lines and readiness lines of the two fleet processes (``wsquake apps`` /
``wsquake glasses``), built from a scenario's :class:`~wsquake.scenarios.model.FleetSpec`.

Kept in one place so the runner does not depend on the simulators' flag spelling.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from wsquake.scenarios.components import API_KEY_TEMPLATE, wsquake_argv
from wsquake.scenarios.model import Scenario

__all__ = [
    "AppsReady",
    "apps_argv",
    "glasses_argv",
    "parse_glasses_ready",
]

_APPS_READY = re.compile(r"^ready (\S+) (https?://[^\s/]+:\d+)(?:/webhook)?/?$")
_GLASSES_READY = re.compile(r"^wsquake glasses (?:ready|running|connected)\b")


class AppsReady:
    """Readiness of ``wsquake apps``: one ``ready <package> <url>/webhook`` line per package.

    Returns the base URLs in package order once every package has announced itself.
    """

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = tuple(packages)
        self.urls: dict[str, str] = {}

    def __call__(self, line: str) -> tuple[str, ...] | None:
        match = _APPS_READY.match(line.strip())
        if match and match.group(1) in self.packages:
            self.urls[match.group(1)] = match.group(2)
        if len(self.urls) == len(self.packages):
            return tuple(self.urls[p] for p in self.packages)
        return None


def parse_glasses_ready(line: str) -> str | None:
    return line if _GLASSES_READY.match(line) else None


def apps_argv(
    scenario: Scenario,
    *,
    history: Path,
    log_level: str = "WARNING",
) -> list[str]:
    """``wsquake apps``: one echo app server per package, each on a free port.

    The cloud reaches them only through the ``webhook-link`` proxies, so a restarted fleet
    may bind new ports: the runner re-points the proxies.
    """
    fleet = scenario.fleet
    args = [
        "apps",
        "--packages", ",".join(fleet.package_names()),
        "--api-key", API_KEY_TEMPLATE,
        "--port", "0",
        "--history", str(history),
        "--time-scale", repr(scenario.time_scale),
        "--profile", fleet.app_profile,
        "--seed", str(fleet.seed),
        "--status-every", "3600",
    ]
    if fleet.streams:
        args += ["--subscribe", ",".join(fleet.streams)]
    return wsquake_argv(*args, log_level=log_level)


def glasses_argv(
    scenario: Scenario,
    *,
    cloud_ws_url: str,
    jwt_secret: str,
    history: Path,
    component: str,
    log_level: str = "WARNING",
) -> list[str]:
    fleet = scenario.fleet
    args = [
        "glasses",
        "--cloud-url", cloud_ws_url,
        "--jwt-secret", jwt_secret,
        "--users", str(fleet.users),
        "--history", str(history),
        "--component", component,
        "--time-scale", repr(scenario.time_scale),
        "--policy", fleet.glasses_policy,
        "--rate", repr(fleet.event_rate_hz),
        "--probe-interval", repr(fleet.probe_interval_s),
        "--ramp", repr(fleet.ramp_users_per_s),
        "--seed", str(fleet.seed),
    ]
    for package in fleet.package_names():
        args += ["--app", package]
    for stream in fleet.streams:
        args += ["--stream", stream]
    if fleet.hyphenated:
        args.append("--hyphenated")
    return wsquake_argv(*args, log_level=log_level)
