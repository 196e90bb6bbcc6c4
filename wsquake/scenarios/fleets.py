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
    "GLASSES_SECRET_ENV",
    "GLASSES_STATUS_EVERY_S",
    "AppsReady",
    "GlassesReady",
    "apps_argv",
    "glasses_argv",
]

_APPS_READY = re.compile(r"^ready (\S+) (https?://[^\s/]+:\d+)(?:/webhook)?/?$")
_GLASSES_STATUS = re.compile(r"^users (\d+)/(\d+) connected (\d+)\b")
#: How often the glasses fleet prints its status line (its readiness signal), wall s.
GLASSES_STATUS_EVERY_S = 0.2


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


class GlassesReady:
    """Readiness of ``wsquake glasses``: a status line showing every user connected.

    The fleet prints ``users <started>/<total> connected <n> …`` every
    :data:`GLASSES_STATUS_EVERY_S`; ready when ``started == total == connected``.
    """

    def __init__(self, users: int) -> None:
        self.users = users
        self.last: str | None = None

    def __call__(self, line: str) -> str | None:
        match = _GLASSES_STATUS.match(line.strip())
        if match is None:
            return None
        self.last = line
        started, total, connected = (int(match.group(i)) for i in (1, 2, 3))
        if started == total == self.users and connected >= total:
            return line
        return None


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
    sdk = set(scenario.cloud.sdk_defects())
    if scenario.cloud.profile == "upstream":
        sdk |= {"legacy_session_map", "hung_attempt_stalls"}
    # PROTOCOL.md §12's SDK switches: sdk.legacy_session_map is the mid-2025 SDK profile
    # (D6's second half); sdk.hung_attempt_stalls (D14) is off unless named, like every
    # defect, so the clean run aborts a hung attempt after the ack timeout.
    profile = "sdk_2_0" if "legacy_session_map" in sdk else fleet.app_profile
    stalls = "--hung-attempt-stalls" if "hung_attempt_stalls" in sdk else "--no-hung-attempt-stalls"
    args = [
        "apps",
        "--packages", ",".join(fleet.package_names()),
        "--api-key", API_KEY_TEMPLATE,
        "--port", "0",
        "--history", str(history),
        "--time-scale", repr(scenario.time_scale),
        "--profile", profile,
        stalls,
        "--seed", str(fleet.seed),
        "--status-every", "3600",
    ]
    if fleet.streams:
        args += ["--subscribe", ",".join(fleet.streams)]
    return wsquake_argv(*args, log_level=log_level)


#: The glasses fleet reads its token secret from this variable (kept off the command
#: line, where ``ps`` and the journal would show it).
GLASSES_SECRET_ENV = "WSQUAKE_GLASSES_JWT_SECRET"


def glasses_argv(
    scenario: Scenario,
    *,
    cloud_ws_url: str,
    history: Path,
    component: str,
    log_level: str = "WARNING",
) -> list[str]:
    """``wsquake glasses``: every user through ``glasses-link`` (the token secret goes in
    :data:`GLASSES_SECRET_ENV`).

    Rates and the probe interval are scenario units, turned into wall units here
    (rate ÷ ``time_scale``, interval × ``time_scale``) so a message gap means the same
    number of scenario seconds at any scale; the reconnect policy is scaled by the fleet.
    """
    fleet = scenario.fleet
    ts = scenario.time_scale
    rates = ",".join(f"{stream}={fleet.event_rate_hz / ts:g}" for stream in fleet.streams)
    args = [
        "glasses",
        "--cloud-url", cloud_ws_url,
        "--users", str(fleet.users),
        "--history", str(history),
        "--component", component,
        "--time-scale", repr(ts),
        "--policy", fleet.glasses_policy,
        "--rates", rates,
        "--probe-interval", f"{fleet.probe_interval_s * ts:g}",
        "--ramp", repr(fleet.ramp_users_per_s),
        "--seed", str(fleet.seed),
        "--status-every", f"{GLASSES_STATUS_EVERY_S:g}",
    ]
    if fleet.package_names():
        args += ["--apps", ",".join(fleet.package_names())]
    if fleet.hyphenated:
        args.append("--hyphens")
    return wsquake_argv(*args, log_level=log_level)
