"""Starting and stopping the run's child processes, and what each is started with.

Every component is ``sys.executable -m wsquake [--log-level L] <command> …`` in its own
process group (:class:`~wsquake.faults.process.ManagedProcess`), ready when it prints its
readiness line on stdout (never a sleep):

| component   | command            | ready line                                   |
| ----------- | ------------------ | -------------------------------------------- |
| ``proxy``   | ``wsquake proxy``  | ``http://127.0.0.1:<port>`` (the API URL)    |
| ``cloud``   | ``wsquake cloud``  | ``wsquake cloud listening on http://h:p …``  |
| ``apps-0``  | ``wsquake apps``   | see :mod:`wsquake.scenarios.fleets`          |
| ``glasses-0`` | ``wsquake glasses`` | see :mod:`wsquake.scenarios.fleets`       |

The cloud is started on port 0 the first time and on the port it bound for every later
start (a ``restart`` or a ``kill`` with a duration), so clients reconnect to the same
address. Every start and stop is journaled.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wsquake.faults.process import ManagedProcess, ReadyCheck
from wsquake.scenarios.model import ProcessTarget, Scenario
from wsquake.scenarios.rundir import Journal, ScenarioDir

__all__ = [
    "Components",
    "cloud_toml",
    "parse_cloud_ready",
    "parse_proxy_ready",
    "wsquake_argv",
]

logger = logging.getLogger(__name__)

_CLOUD_READY = re.compile(r"^wsquake cloud listening on (http://\S+?:\d+)\b")
_PROXY_READY = re.compile(r"^(https?://[^\s/]+:\d+)/?$")


def wsquake_argv(*args: str, log_level: str = "WARNING") -> list[str]:
    return [sys.executable, "-m", "wsquake", "--log-level", log_level, *args]


def parse_cloud_ready(line: str) -> str | None:
    match = _CLOUD_READY.match(line)
    return match.group(1) if match else None


def parse_proxy_ready(line: str) -> str | None:
    match = _PROXY_READY.match(line.strip())
    return match.group(1) if match else None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


@dataclass(frozen=True, slots=True)
class AppRegistration:
    package: str
    public_url: str
    api_key: str


#: ``wsquake apps --api-key`` template; :func:`api_key` is the same for the registry.
API_KEY_TEMPLATE = "wsquake-{package}"


def api_key(package: str) -> str:
    """The api key the runner registers for ``package`` (the app fleet gets the same)."""
    return API_KEY_TEMPLATE.format(package=package)


def cloud_toml(
    scenario: Scenario,
    *,
    jwt_secret: str,
    app_ws_public_url: str | None,
    apps: Sequence[AppRegistration],
) -> str:
    """The cloud's config file: the scenario's timings (× ``time_scale``), defects, apps."""
    lines = ['host = "127.0.0.1"', "port = 0"]
    if app_ws_public_url:
        lines.append(f"app_ws_public_url = {_toml_value(app_ws_public_url)}")
    lines += ["", "[auth]", f"jwt_secret = {_toml_value(jwt_secret)}", "", "[timings]"]
    lines.append(f"time_scale = {_toml_value(float(scenario.time_scale))}")
    for key, value in sorted(scenario.cloud.timings.items()):
        lines.append(f"{key} = {_toml_value(value)}")
    lines += ["", "[defects]", f"profile = {_toml_value(scenario.cloud.profile)}"]
    for name in scenario.cloud.cloud_defects():
        lines.append(f"{name} = true")
    for app in apps:
        lines += [
            "",
            "[[apps]]",
            f"package_name = {_toml_value(app.package)}",
            f"public_url = {_toml_value(app.public_url)}",
            f"api_key = {_toml_value(app.api_key)}",
            'permissions = ["ALL"]',
            'type = "standard"',
        ]
    return "\n".join(lines) + "\n"


class Components:
    """The child processes of one scenario, stopped in reverse start order."""

    def __init__(
        self,
        sdir: ScenarioDir,
        journal: Journal,
        *,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 30.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.sdir = sdir
        self.journal = journal
        self.env = dict(env) if env is not None else None
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.processes: dict[str, ManagedProcess] = {}
        self.targets: dict[ProcessTarget, list[str]] = {}
        #: argv for every later start (e.g. the cloud on the port it bound first).
        self.restart_argv: dict[str, list[str]] = {}
        #: called with the ready value after every later start (e.g. re-point proxies).
        self.on_restart: dict[str, Callable[[object | None], Awaitable[None]]] = {}

    async def start(
        self,
        name: str,
        argv: Sequence[str],
        ready: ReadyCheck,
        *,
        target: ProcessTarget | None = None,
        cwd: Path | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> object | None:
        if name in self.processes:
            raise ValueError(f"component {name!r} already started")
        env = self.env
        if extra_env:
            env = {**(self.env if self.env is not None else os.environ), **extra_env}
        proc = ManagedProcess(
            name,
            argv,
            ready=ready,
            ready_timeout=self.ready_timeout,
            stop_timeout=self.stop_timeout,
            env=env,
            cwd=cwd,
            log_path=self.sdir.log(name),
        )
        self.processes[name] = proc
        if target is not None:
            self.targets.setdefault(target, []).append(name)
        self.journal.write("component_starting", component=name, argv=list(argv))
        value = await proc.start()
        self.journal.write("component_ready", component=name, pid=proc.pid, ready=str(value))
        return value

    def of(self, target: ProcessTarget) -> list[ManagedProcess]:
        return [self.processes[n] for n in self.targets.get(target, [])]

    async def start_again(self, proc: ManagedProcess) -> None:
        argv = self.restart_argv.get(proc.name)
        self.journal.write("component_starting", component=proc.name, argv=argv or proc.argv)
        value = await proc.start(argv)
        self.journal.write("component_ready", component=proc.name, pid=proc.pid, ready=str(value))
        hook = self.on_restart.get(proc.name)
        if hook is not None:
            await hook(value)

    async def stop_all(self) -> None:
        """Stop every child (newest first); errors are logged so every child is stopped."""
        for name in reversed(list(self.processes)):
            proc = self.processes[name]
            pid = proc.pid
            try:
                code = await proc.stop()
            except Exception:
                logger.exception("stopping %s failed", name)
                code = None
            self.journal.write("component_stopped", component=name, pid=pid, returncode=code)

    def all_pids(self) -> list[int]:
        return [pid for proc in self.processes.values() for pid in proc.pids]
