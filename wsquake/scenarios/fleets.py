"""Command lines and readiness lines of the two fleet processes (``wsquake apps`` /
``wsquake glasses``), built from a scenario's :class:`~wsquake.scenarios.model.FleetSpec`.

Kept in one place so the runner does not depend on the simulators' flag spelling.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wsquake.scenarios.components import api_key, wsquake_argv
from wsquake.scenarios.model import Scenario

__all__ = [
    "FleetPlan",
    "apps_argv",
    "glasses_argv",
    "parse_apps_ready",
    "parse_glasses_ready",
]

_APPS_READY = re.compile(r"^wsquake apps (?:ready|listening)\b.*")
_URL = re.compile(r"(https?://[^\s,;]+:\d+)")
_GLASSES_READY = re.compile(r"^wsquake glasses (?:ready|running|connected)\b")


@dataclass(frozen=True, slots=True)
class FleetPlan:
    packages: tuple[str, ...]
    users: tuple[str, ...]


def parse_apps_ready(line: str) -> tuple[str, ...] | None:
    """The app servers' base URLs from the apps fleet's readiness line (package order)."""
    if not _APPS_READY.match(line):
        return None
    return tuple(u.rstrip("/") for u in _URL.findall(line))


def parse_glasses_ready(line: str) -> str | None:
    return line if _GLASSES_READY.match(line) else None


def apps_argv(
    scenario: Scenario,
    *,
    history: Path,
    component: str,
    ports: Sequence[int] | None = None,
    log_level: str = "WARNING",
) -> list[str]:
    fleet = scenario.fleet
    packages = fleet.package_names()
    args = [
        "apps",
        "--history", str(history),
        "--component", component,
        "--time-scale", repr(scenario.time_scale),
        "--profile", fleet.app_profile,
        "--seed", str(fleet.seed),
    ]
    for i, package in enumerate(packages):
        port = ports[i] if ports else 0
        args += ["--app", f"{package}:{api_key(package)}:{port}"]
    for stream in fleet.streams:
        args += ["--subscribe", stream]
    for defect in scenario.cloud.sdk_defects():
        args += ["--defect", defect]
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
