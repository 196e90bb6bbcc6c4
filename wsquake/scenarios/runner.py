"""The scenario runner: components up, faults on a timeline, rollback, merge, check, report.

One scenario runs (STYLE.md "Scenarios and reports"; chaostoolkit-lib ``run.py``, but
stricter)::

    validate (before anything starts)
    start   fault proxy → app servers → link proxies → cloud (its config written from
            the scenario) → glasses; each its own process, ready on its stdout line
    warm-up steady state, cloud probed every probe interval
    faults  the timeline (FaultDriver) on the runner's clock
    recovery window, quiesce, final probe (the leak audit reads it)
    finally rollback every active fault, stop every child (SIGTERM, SIGKILL after a
            deadline) — on success, failure, exceptions and Ctrl-C
    merge   parts/*.jsonl → history.jsonl; checkers + thresholds; summary.json

Clocks are injected (``clock`` monotonic seconds, ``clock_ns`` wall ns). Ctrl-C: the CLI
calls :meth:`Runner.interrupt`, which cancels the scenario in progress; the rollback and
the report still run and the run is marked ``interrupted``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsquake.faults.client import (
    AsyncToxiproxyClient,
    BackendKind,
    ToxicSpec,
    ToxiproxyClientError,
    parse_toxiproxy_url,
)
from wsquake.faults.client.backend import ENV_VAR, wait_ready
from wsquake.faults.process import ProcessError
from wsquake.history import HistoryError, HistoryEvent, HistoryWriter
from wsquake.scenarios.components import (
    AppRegistration,
    Components,
    api_key,
    cloud_toml,
    parse_cloud_ready,
    parse_proxy_ready,
    wsquake_argv,
)
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.fleets import (
    GLASSES_SECRET_ENV,
    AppsReady,
    GlassesReady,
    apps_argv,
    glasses_argv,
)
from wsquake.scenarios.live import ReconnectCounter, RunStatus
from wsquake.scenarios.load_fleet import start_load_fleet
from wsquake.scenarios.model import ProcessStep, ProcessTarget, Scenario
from wsquake.scenarios.probes import CloudProber
from wsquake.scenarios.rundir import (
    Journal,
    RunDir,
    ScenarioDir,
    merge_histories,
    new_run_id,
    to_jsonable,
    write_json,
    write_run_history,
)
from wsquake.scenarios.thresholds import Verdict, worst
from wsquake.scenarios.timeline import FaultDriver, StampClock
from wsquake.scenarios.topology import (
    Topology,
    create_topology,
    host_port,
    reuse_existing_proxies,
)

__all__ = [
    "DEFAULT_JWT_SECRET",
    "CheckOutcome",
    "RunResult",
    "RunSettings",
    "Runner",
    "check_backend_support",
    "ScenarioOutcome",
    "exit_code",
    "resolve_scenarios",
    "validate_for_run",
]

logger = logging.getLogger(__name__)

ERROR = "error"  # a scenario verdict beside pass/fail/unknown: the harness broke
DEFAULT_JWT_SECRET = "wsquake-run-secret"


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How scenarios are run (not what they do: that is the :class:`Scenario`)."""

    out: Path = Path("runs")
    cloud_url: str | None = None
    toxiproxy_url: str | None = None  # None: $TOXIPROXY_URL; "" / embedded: own process
    jwt_secret: str = DEFAULT_JWT_SECRET
    probe_interval_s: float = 2.0  # scenario seconds
    min_probe_wall_s: float = 0.1
    max_probe_wall_s: float = 2.0
    ready_timeout_s: float = 30.0
    proxy_ready_timeout_s: float = 10.0  # a remote Toxiproxy may still be starting
    stop_timeout_s: float = 5.0
    child_log_level: str = "WARNING"
    env: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.cloud_url is not None and not self.cloud_url.startswith(("http://", "https://")):
            raise ScenarioError(f"--cloud-url: expected http://HOST:PORT, got {self.cloud_url!r}")
        if not self.jwt_secret:
            raise ScenarioError("--jwt-secret: must not be empty")
        if not self.probe_interval_s > 0:
            raise ScenarioError(f"probe_interval_s: must be > 0, got {self.probe_interval_s!r}")


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    name: str
    verdict: str
    metrics: Mapping[str, Any]
    thresholds: tuple[Mapping[str, Any], ...] = ()
    summary: str = ""
    examples: tuple[Mapping[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "summary": self.summary,
            "metrics": to_jsonable(self.metrics),
            "thresholds": [to_jsonable(t) for t in self.thresholds],
            "examples": [to_jsonable(e) for e in self.examples],
        }


@dataclass(slots=True)
class ScenarioOutcome:
    name: str
    directory: Path
    verdict: str = Verdict.UNKNOWN.value
    started_at: float = 0.0
    finished_at: float = 0.0
    duration_s: float = 0.0
    interrupted: bool = False
    error: str | None = None
    checks: list[CheckOutcome] = field(default_factory=list)
    events: int = 0
    truncated_lines: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    rollback_errors: list[str] = field(default_factory=list)
    time_scale: float = 1.0

    def to_json(self, root: Path) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "interrupted": self.interrupted,
            "error": self.error,
            "dir": str(self.directory.relative_to(root)),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_s": round(self.duration_s, 3),
            "time_scale": self.time_scale,
            "events": self.events,
            "truncated_lines": self.truncated_lines,
            "faults": dict(self.faults),
            "rollback_errors": list(self.rollback_errors),
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(slots=True)
class RunResult:
    run_id: str
    path: Path
    started_at: float
    finished_at: float = 0.0
    interrupted: bool = False
    scenarios: list[ScenarioOutcome] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if any(s.verdict == ERROR for s in self.scenarios):
            return ERROR
        return worst(s.verdict for s in self.scenarios).value if self.scenarios else "unknown"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "run_id": self.run_id,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "interrupted": self.interrupted,
            "verdict": self.verdict,
            "exit_code": exit_code(self),
            "scenarios": [s.to_json(self.path) for s in self.scenarios],
        }


def exit_code(result: RunResult) -> int:
    """130 interrupted · 70 harness error · 1 a check failed · 2 unknown · 0 pass."""
    if result.interrupted:
        return 130
    verdict = result.verdict
    return {"pass": 0, "fail": 1, "unknown": 2, ERROR: 70}[verdict]


def _iso(ts: float) -> str | None:
    if not ts:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def validate_for_run(scenario: Scenario, settings: RunSettings) -> None:
    """What the model cannot know: a step the chosen setup cannot execute (exit 64)."""
    if settings.cloud_url is not None:
        for i, step in enumerate(scenario.steps):
            if isinstance(step, ProcessStep) and step.target is ProcessTarget.CLOUD:
                raise ScenarioError(
                    f"{scenario.name}: steps[{i}].target: cannot {step.action.value} the "
                    f"cloud with --cloud-url (the runner did not start it)"
                )


def check_backend_support(scenario: Scenario, *, embedded: bool) -> None:
    """Extension (``x-``) toxics need the embedded proxy: refuse them up front (exit 64)."""
    if embedded:
        return
    for i, step in enumerate(scenario.steps):
        toxic = getattr(step, "toxic", None)
        if isinstance(toxic, ToxicSpec) and toxic.EXTENSION:
            raise ScenarioError(
                f"{scenario.name}: steps[{i}].toxic: {toxic.TYPE!r} needs the embedded proxy; "
                f"TOXIPROXY_URL points at a real Toxiproxy (unset it, or use 'embedded')"
            )


def _run_checks(events: Sequence[HistoryEvent], scenario: Scenario) -> list[CheckOutcome]:
    """The checkers over the merged history; a checker that raises says ``unknown``."""
    from wsquake.history.frame import HistoryFrames
    from wsquake.scenarios.checkers import run_check

    frames = HistoryFrames.from_events(events)
    out: list[CheckOutcome] = []
    for spec in scenario.checks:
        try:
            data = run_check(spec.name, frames, scenario, spec.options).to_json()
        except Exception as exc:
            logger.exception("checker %s failed", spec.name)
            out.append(CheckOutcome(spec.name, Verdict.UNKNOWN.value, {},
                                    summary=f"checker error: {type(exc).__name__}: {exc}"))
            continue
        out.append(CheckOutcome(
            name=data["name"], verdict=data["verdict"], metrics=data["metrics"],
            thresholds=tuple(_threshold_json(t) for t in data["thresholds"]),
            summary=data.get("summary", ""), examples=tuple(data.get("examples", ())),
        ))
    return out


def _threshold_json(t: Mapping[str, Any]) -> dict[str, Any]:
    """Summary schema: ``expr``, ``verdict``, ``measured``, ``expected`` (+ metric, op)."""
    out = dict(t)
    out["expr"] = out.pop("threshold", out.get("expr"))
    return out


class Runner:
    """Runs scenarios one after the other into one run directory."""

    def __init__(
        self,
        settings: RunSettings,
        *,
        status: RunStatus | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.status = status or RunStatus()
        self.clock = clock
        self.wall = wall
        self._interrupted = False
        self._current: asyncio.Task[ScenarioOutcome] | None = None
        backend = settings.toxiproxy_url
        if backend is None:
            env = settings.env if settings.env is not None else os.environ
            backend = env.get(ENV_VAR)
        try:
            self.backend = parse_toxiproxy_url(backend)
        except ToxiproxyClientError as exc:
            raise ScenarioError(str(exc)) from None

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def interrupt(self) -> None:
        """Ctrl-C: stop the scenario in progress (rollback and report still run)."""
        if self._interrupted:
            logger.warning("already stopping; rolling back and stopping components")
            return
        self._interrupted = True
        if self._current is not None:
            self._current.cancel()

    async def run(self, scenarios: Sequence[Scenario], *, label: str | None = None) -> RunResult:
        for scenario in scenarios:
            validate_for_run(scenario, self.settings)
        if self.backend.kind is BackendKind.REMOTE and self.backend.url is not None:
            try:  # unreachable: each scenario reports it as a harness error instead
                embedded = await AsyncToxiproxyClient(self.backend.url).is_embedded()
            except ToxiproxyClientError:
                embedded = True
            for scenario in scenarios:
                check_backend_support(scenario, embedded=embedded)
        run_id = new_run_id(label or (scenarios[0].name if scenarios else "run"),
                            clock=self.wall)
        rundir = RunDir(self.settings.out, run_id)
        result = RunResult(run_id, rundir.path, started_at=self.wall())
        journal = Journal(rundir.journal, clock=self.clock)
        journal.write("run_started", run_id=run_id, scenarios=[s.name for s in scenarios],
                      backend=self.backend.kind.value, cloud_url=self.settings.cloud_url)
        histories: list[list[HistoryEvent]] = []
        try:
            for index, scenario in enumerate(scenarios, 1):
                if self._interrupted:
                    break
                self.status.index, self.status.total = index, len(scenarios)
                sdir = rundir.scenario_dir(scenario.name)
                self._current = asyncio.get_running_loop().create_task(
                    self._scenario(scenario, sdir, journal, histories),
                    name=f"scenario-{scenario.name}",
                )
                try:
                    outcome = await self._current
                except asyncio.CancelledError:
                    if not self.interrupted:
                        raise
                    outcome = self._current_outcome
                    outcome.interrupted = True
                finally:
                    self._current = None
                result.scenarios.append(outcome)
                write_json(rundir.summary, result.to_json())  # after each scenario
        finally:
            result.interrupted = self._interrupted
            result.finished_at = self.wall()
            journal.scenario = None
            write_run_history(rundir.history, histories)
            write_json(rundir.summary, result.to_json())
            journal.write("run_finished", interrupted=result.interrupted,
                          verdict=result.verdict, exit_code=exit_code(result))
            journal.close()
        return result

    # -- one scenario ------------------------------------------------------------------

    _current_outcome: ScenarioOutcome

    async def _scenario(
        self,
        scenario: Scenario,
        sdir: ScenarioDir,
        journal: Journal,
        histories: list[list[HistoryEvent]],
    ) -> ScenarioOutcome:
        outcome = ScenarioOutcome(scenario.name, sdir.path, started_at=self.wall(),
                                  time_scale=scenario.time_scale)
        self._current_outcome = outcome
        journal.scenario = scenario.name
        journal.write("scenario_started", time_scale=scenario.time_scale,
                      planned_s=scenario.duration_s(),
                      planned_wall_s=scenario.wall_s(scenario.duration_s()))
        write_json(sdir.scenario_json, scenario)
        st = self.status
        st.scenario, st.phase, st.started = scenario.name, "starting", self.clock()
        st.time_scale, st.planned_s = scenario.time_scale, scenario.duration_s()
        st.active_faults, st.faults_applied, st.faults_healed = [], 0, 0
        st.glasses_connected = st.app_connections = st.sessions = None
        st.probe_ok, st.recoveries = None, 0
        st.changed()
        t0 = self.clock()
        cancelled: asyncio.CancelledError | None = None
        try:
            await self._execute(scenario, sdir, journal, outcome)
        except asyncio.CancelledError as exc:
            cancelled = exc
            outcome.interrupted = True
            journal.write("scenario_interrupted")
        except (ProcessError, ToxiproxyClientError, OSError, RuntimeError) as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            journal.write("harness_error", error=outcome.error)
            logger.error("%s: harness error: %s", scenario.name, outcome.error)
        except Exception as exc:  # a bug: still a harness error, with its traceback logged
            outcome.error = f"{type(exc).__name__}: {exc}"
            journal.write("harness_error", error=outcome.error)
            logger.exception("%s: unexpected harness error", scenario.name)
        # Cleanup is done inside _execute; from here on: merge, check, report.
        outcome.duration_s = self.clock() - t0
        outcome.finished_at = self.wall()
        st.phase = "checks"
        st.changed()
        try:
            events, truncated = merge_histories(sdir.parts, sdir.history)
        except HistoryError as exc:
            events, truncated = [], 0
            outcome.error = outcome.error or f"history merge failed: {exc}"
            journal.write("harness_error", error=f"history merge failed: {exc}")
        histories.append(events)
        outcome.events, outcome.truncated_lines = len(events), truncated
        if outcome.error is None:
            outcome.checks = await asyncio.to_thread(_run_checks, events, scenario)
            verdict = worst(c.verdict for c in outcome.checks).value
            outcome.verdict = Verdict.UNKNOWN.value if outcome.interrupted else verdict
        else:
            outcome.verdict = ERROR
        if outcome.rollback_errors and outcome.verdict != ERROR:
            outcome.error = "rollback failed: " + "; ".join(outcome.rollback_errors)
            outcome.verdict = ERROR
        journal.write("scenario_finished", verdict=outcome.verdict,
                      interrupted=outcome.interrupted, duration_s=outcome.duration_s)
        st.phase = "done"
        st.changed()
        if cancelled is not None:
            raise cancelled
        return outcome

    async def _execute(
        self, scenario: Scenario, sdir: ScenarioDir, journal: Journal, outcome: ScenarioOutcome
    ) -> None:
        s = self.settings
        components = Components(
            sdir, journal, env=s.env, ready_timeout=s.ready_timeout_s,
            stop_timeout=s.stop_timeout_s,
        )
        driver: FaultDriver | None = None
        client: AsyncToxiproxyClient | None = None
        topology: Topology | None = None
        stamp = StampClock()
        async with HistoryWriter(sdir.part("runner"), "runner", clock_ns=stamp,
                                 flush_interval_s=0.25) as hist:
            try:
                self._phase("starting", journal)
                client = await self._start_proxy(components)
                topology, cloud_url = await self._start_system(
                    scenario, sdir, components, client
                )
                driver = FaultDriver(
                    client=client, topology=topology, components=components, history=hist,
                    journal=journal, time_scale=scenario.time_scale,
                    on_change=lambda: self._faults_changed(driver), stamp=stamp,
                )
                async with CloudProber(cloud_url, hist, phase=lambda: self.status.phase) as prober:
                    await self._timeline(scenario, sdir, driver, prober, journal)
                    self._phase("audit", journal)
                    snap = await prober.probe(final=True)
                    self._probed(snap)
            finally:
                await _uncancellable(
                    self._cleanup(driver, components, client, topology, journal, outcome)
                )

    async def _cleanup(
        self,
        driver: FaultDriver | None,
        components: Components,
        client: AsyncToxiproxyClient | None,
        topology: Topology | None,
        journal: Journal,
        outcome: ScenarioOutcome,
    ) -> None:
        self._phase("stopping", journal)
        if driver is not None:
            outcome.rollback_errors = await driver.rollback()
            outcome.faults = {"applied": driver.applied, "healed": driver.healed,
                              "rolled_back": driver.rolled_back}
        if (client is not None and topology is not None and self.backend.kind is BackendKind.REMOTE
                and not reuse_existing_proxies(self.settings.env or os.environ)):
            for name in topology.all_names:  # a real Toxiproxy outlives us: leave it clean
                try:
                    await client.delete_proxy(name, missing_ok=True)
                    journal.write("proxy_deleted", proxy=name)
                except Exception as exc:
                    outcome.rollback_errors.append(f"delete proxy {name}: {exc}")
        await components.stop_all()

    async def _start_proxy(self, components: Components) -> AsyncToxiproxyClient:
        if self.backend.kind is BackendKind.REMOTE:
            assert self.backend.url is not None
            client = AsyncToxiproxyClient(self.backend.url)
            await asyncio.to_thread(wait_ready, client.sync, self.settings.proxy_ready_timeout_s)
            return client
        argv = wsquake_argv(
            "proxy", "--host", self.backend.host, "--port", str(self.backend.port),
            log_level=self.settings.child_log_level,
        )
        url = await components.start("proxy", argv, parse_proxy_ready)
        assert isinstance(url, str)
        return AsyncToxiproxyClient(url)

    async def _start_system(
        self,
        scenario: Scenario,
        sdir: ScenarioDir,
        components: Components,
        client: AsyncToxiproxyClient,
    ) -> tuple[Topology, str]:
        s = self.settings
        fleet = scenario.fleet
        packages = fleet.package_names()
        app_urls: tuple[str, ...] = ()
        if packages:
            argv = apps_argv(scenario, history=sdir.part("apps"), log_level=s.child_log_level)
            value = await components.start("apps", argv, AppsReady(packages),
                                           target=ProcessTarget.APPS)
            assert isinstance(value, tuple)
            app_urls = value
        topology = await create_topology(client, app_urls, cloud_url=s.cloud_url,
                                         reuse=reuse_existing_proxies(s.env or os.environ))
        webhooks = topology.webhooks

        async def repoint_webhooks(value: object | None) -> None:
            # A restarted app fleet binds new ports; the cloud only knows the proxies.
            assert isinstance(value, tuple)
            for proxy, url in zip(webhooks, value, strict=True):
                await client.update_proxy(proxy.name, upstream=host_port(url))

        components.on_restart["apps"] = repoint_webhooks
        if s.cloud_url is None:
            regs = [AppRegistration(p, url, api_key(p))
                    for p, url in zip(packages, topology.webhook_urls(), strict=True)]
            sdir.cloud_toml.write_text(
                cloud_toml(scenario, jwt_secret=s.jwt_secret,
                           app_ws_public_url=topology.app_ws_url, apps=regs), "utf-8")
            argv = wsquake_argv("cloud", "--config", str(sdir.cloud_toml), "--port", "0",
                                log_level=s.child_log_level)
            cloud_url = await components.start("cloud", argv, parse_cloud_ready,
                                               target=ProcessTarget.CLOUD)
            assert isinstance(cloud_url, str)
            port = cloud_url.rsplit(":", 1)[1]
            components.restart_argv["cloud"] = [*argv[:-1], port]
            topology = await topology.point_at_cloud(client, cloud_url)
        else:
            cloud_url = s.cloud_url.rstrip("/")
        self.status.changed()
        argv = glasses_argv(scenario, cloud_ws_url=topology.glasses_ws_url,
                            history=sdir.part("glasses-0"), component="glasses-0",
                            log_level=s.child_log_level)
        await components.start("glasses-0", argv, GlassesReady(fleet.users),
                               target=ProcessTarget.GLASSES,
                               extra_env={GLASSES_SECRET_ENV: s.jwt_secret})
        if scenario.load is not None:  # a Locust background fleet, also via glasses-link
            await start_load_fleet(scenario, components, glasses_ws_url=topology.glasses_ws_url,
                                   sdir=sdir, jwt_secret=s.jwt_secret)
        return topology, cloud_url

    async def _timeline(
        self, scenario: Scenario, sdir: ScenarioDir, driver: FaultDriver, prober: CloudProber,
        journal: Journal,
    ) -> None:
        ts = scenario.time_scale
        interval = min(max(self.settings.probe_interval_s * ts, self.settings.min_probe_wall_s),
                       self.settings.max_probe_wall_s)
        probes = asyncio.get_running_loop().create_task(
            self._probe_loop(prober, interval, ReconnectCounter(sdir.parts)), name="cloud-probes"
        )
        try:  # the probe task is owned here: cancelled and awaited on every exit
            start = self.clock()
            self.status.started = start
            self._phase("warm-up", journal)
            zero = start + scenario.warmup_s * ts
            await self._sleep_until(zero)
            self._phase("faults", journal)
            await driver.run(scenario.timeline(), zero, self.clock)
            self._phase("recovery", journal)
            await self._sleep_until(zero + scenario.recovery_deadline_s() * ts)
            self._phase("quiesce", journal)
            await self._sleep_until(
                zero + (scenario.recovery_deadline_s() + scenario.resolved_quiesce_s()) * ts
            )
        finally:
            probes.cancel()
            await asyncio.wait([probes])
            if not probes.cancelled() and probes.exception() is not None:
                logger.error("cloud probes failed: %r", probes.exception())

    async def _probe_loop(
        self, prober: CloudProber, interval: float, reconnects: ReconnectCounter
    ) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            self.status.recoveries = reconnects.update()
            self._probed(await prober.probe())
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)

    def _phase(self, phase: str, journal: Journal) -> None:
        self.status.phase = phase
        journal.write("phase", phase=phase)
        self.status.changed()

    def _probed(self, snap: Any) -> None:
        st = self.status
        st.probe_ok = snap.ok
        if snap.ok:
            st.sessions = snap.counts.get("sessions")
            st.glasses_connected = snap.counts.get("glasses_connections")
            st.app_connections = snap.counts.get("app_connections")
        st.changed()

    def _faults_changed(self, driver: FaultDriver | None) -> None:
        if driver is None:
            return
        st = self.status
        st.active_faults = driver.active_labels
        st.faults_applied, st.faults_healed = driver.applied, driver.healed
        st.changed()


async def _uncancellable(coro: Coroutine[Any, Any, None]) -> None:
    """Run cleanup to the end even if the caller is cancelled meanwhile (Ctrl-C during the
    rollback); the cancellation is re-raised once the cleanup is done."""
    task = asyncio.get_running_loop().create_task(coro, name="rollback")
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            cancelled = True
    task.result()
    if cancelled:
        raise asyncio.CancelledError


def resolve_scenarios(
    names: Sequence[str],
    *,
    time_scale: float | None = None,
    users: int | None = None,
    seed: int | None = None,
) -> list[Scenario]:
    """Load and adjust every scenario up front (a bad one: ScenarioError, nothing started)."""
    from wsquake.scenarios.loader import load_scenario

    out = []
    for name in names:
        scenario = load_scenario(name)
        if time_scale is not None:
            if not time_scale > 0:
                raise ScenarioError(f"--time-scale: must be > 0, got {time_scale!r}")
            scenario = scenario.scaled(time_scale)
        changes: dict[str, Any] = {}
        if users is not None:
            changes["users"] = users
        if seed is not None:
            changes["seed"] = seed
        if changes:
            try:
                scenario = scenario.with_fleet(**changes)
            except ScenarioError as exc:
                raise ScenarioError(f"{scenario.name}: {exc}") from None
        out.append(scenario)
    return out

