"""The Locust locustfile of wsquake's load fleets: one ``GlassesUser`` per pair of glasses.

Run it with ``wsquake load`` (which builds this command line) or plainly::

    locust -f "$(wsquake load --locustfile-path)" --host ws://127.0.0.1:8002/glasses-ws \\
        --glasses-apps com.example.echo -u 100 -r 20

(or ``locust -f locustfile.py`` from the repository root, which imports this module).

Each user is a :class:`~wsquake.load.session.LoadGlasses` client: it authenticates with a
minted core token, starts its apps, streams sensor events at ``--glasses-rates`` and,
as its Locust task, sends an echo probe every ``--glasses-probe-interval`` seconds.
Locust's statistics get request type ``WS`` with names ``connect``, ``ack``, ``echo``
and ``reconnect`` and their real times.

Recovery samples travel from each worker to the master inside Locust's worker report
(``events.report_to_master`` -> ``events.worker_report``, key ``wsquake_recoveries``);
the master (or a standalone run) appends them to ``--wsquake-history`` as
``load_recovery`` events, with a ``load_summary`` of the merged statistics every
``--wsquake-summary-every`` seconds and at the end. With ``WSQUAKE_LOAD_GLASSES_HISTORY``
set, a worker (or standalone) process also records its users' glasses events there, so the
scenario checkers treat Locust users like the asyncio glasses fleet.

Importing this module imports Locust, which monkey-patches the process with gevent:
never import it into an asyncio process (the tests run Locust as child processes).
"""

# Locust's event hooks are untyped.
# mypy: disable-error-code="untyped-decorator,no-untyped-call"
from __future__ import annotations

import itertools
import logging
import os
import random
from typing import Any

import gevent  # type: ignore[import-untyped]
from locust import User, constant_pacing, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from wsquake.history import EventKind, Outcome
from wsquake.load.exceptions import LoadConfigError, LoadReportError, LoadSampleFailure
from wsquake.load.record import LineHistory
from wsquake.load.samples import REPORT_KEY, Metric, RecoverySample, recoveries_from_report
from wsquake.load.session import LoadGlasses
from wsquake.load.settings import LoadUserSettings

__all__ = ["GlassesUser"]

logger = logging.getLogger(__name__)

REQUEST_TYPE = "WS"

_numbers = itertools.count()
_pending: list[RecoverySample] = []  # worker side: shipped with the next report
_state: dict[str, Any] = {"history": None, "glasses_history": None}

#: Per process (not a Locust option: the master's options override the workers'): record
#: every user's glasses events (connect, init, probes, echoes, closes) to this file, under
#: the component name in GLASSES_COMPONENT_ENV (``glasses-*``, so checkers see glasses).
GLASSES_HISTORY_ENV = "WSQUAKE_LOAD_GLASSES_HISTORY"
GLASSES_COMPONENT_ENV = "WSQUAKE_LOAD_GLASSES_COMPONENT"


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    group = parser.add_argument_group("wsquake glasses users")
    LoadUserSettings.add_locust_arguments(group)
    group.add_argument(
        "--wsquake-history",
        default="",
        env_var="WSQUAKE_LOAD_HISTORY",
        help="master/standalone: append load_recovery and load_summary events to this file",
    )
    group.add_argument(
        "--wsquake-summary-every",
        type=float,
        default=2.0,
        env_var="WSQUAKE_LOAD_SUMMARY_EVERY",
        help="seconds between load_summary events in --wsquake-history",
    )


class _LocustSink:
    """Feeds LoadGlasses measurements into Locust's statistics and recovery list."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment

    def sample(self, metric: Metric, ms: float, error: str | None = None) -> None:
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE,
            name=metric.value,
            response_time=ms,
            response_length=0,
            exception=LoadSampleFailure(error) if error is not None else None,
            context={},
        )

    def recovery(self, sample: RecoverySample) -> None:
        if isinstance(self.environment.runner, WorkerRunner):
            _pending.append(sample)
        else:
            _record_recovery(sample)


def _history() -> LineHistory | None:
    history: LineHistory | None = _state["history"]
    return history


def _record_recovery(sample: RecoverySample) -> None:
    history = _history()
    if history is None:
        return
    history.record(
        EventKind.LOAD_RECOVERY,
        Outcome.OK,
        client_id=sample.user,
        session_id=sample.user,
        conn=sample.lost_conn + sample.attempts,
        user=sample.user,
        reconnect_ms=sample.reconnect_ms,
        worker=sample.worker,
        lost_ns=sample.lost_ns,
        attempts=sample.attempts,
        lost_conn=sample.lost_conn,
    )


def _record_summary(environment: Environment) -> None:
    history = _history()
    if history is None:
        return
    stats = environment.stats

    def count(metric: Metric) -> int:  # stats.get() would add an empty row to the tables
        entry = stats.entries.get((metric.value, REQUEST_TYPE))
        return int(entry.num_requests) if entry is not None else 0

    echo = stats.entries.get((Metric.ECHO.value, REQUEST_TYPE))
    p99 = echo.get_response_time_percentile(0.99) if echo and echo.num_requests else None
    runner = environment.runner
    history.record(
        EventKind.LOAD_SUMMARY,
        Outcome.INFO,
        users=runner.user_count if runner is not None else 0,
        connects=count(Metric.CONNECT),
        acks=count(Metric.ACK),
        echoes=count(Metric.ECHO),
        reconnects=count(Metric.RECONNECT),
        failures=int(stats.total.num_failures),
        p99_echo_ms=float(p99) if p99 is not None else None,
    )


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    options = environment.parsed_options
    role = "master" if isinstance(runner, MasterRunner) else (
        "worker" if isinstance(runner, WorkerRunner) else "local"
    )
    glasses_history = os.environ.get(GLASSES_HISTORY_ENV, "")
    if glasses_history and not isinstance(runner, MasterRunner):
        component = os.environ.get(GLASSES_COMPONENT_ENV, "glasses-locust")
        _state["glasses_history"] = LineHistory(glasses_history, component).open()
    print(f"wsquake load {role} ready", flush=True)  # readiness line for the runner
    if isinstance(runner, WorkerRunner) or options is None:
        if isinstance(runner, WorkerRunner):
            environment.events.report_to_master.add_listener(_on_report_to_master)
        return
    if options.wsquake_history:
        _state["history"] = LineHistory(options.wsquake_history, "locust").open()
        every = float(options.wsquake_summary_every)
        if every > 0:
            gevent.spawn(_summaries, environment, every)
    if isinstance(runner, MasterRunner):
        environment.events.worker_report.add_listener(_on_worker_report)


def _summaries(environment: Environment, every: float) -> None:
    while True:
        gevent.sleep(every)
        if _history() is None:
            return
        _record_summary(environment)


def _on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
    samples, _pending[:] = list(_pending), []
    data[REPORT_KEY] = [sample.to_dict() for sample in samples]


def _on_worker_report(client_id: str, data: dict[str, Any]) -> None:
    try:
        samples = recoveries_from_report(data)
    except LoadReportError as exc:
        logger.error("worker %s sent a bad report: %s", client_id, exc)
        return
    for sample in samples:
        _record_recovery(sample)


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    glasses_history, _state["glasses_history"] = _state.get("glasses_history"), None
    if glasses_history is not None:
        glasses_history.close()
    if _history() is not None:
        _record_summary(environment)
        history, _state["history"] = _state["history"], None
        history.close()


class GlassesUser(User):
    """One simulated pair of glasses (a :class:`LoadGlasses` client per Locust user)."""

    wait_time = constant_pacing(5.0)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        options = environment.parsed_options
        try:
            self.load_settings = LoadUserSettings.from_options(options, self.host)
        except LoadConfigError as exc:
            logger.error("bad glasses user settings: %s", exc)
            raise
        interval = self.load_settings.probe_interval_s
        pacing = constant_pacing(interval if interval > 0 else 3600.0)
        self.wait_time = lambda: pacing(self)  # type: ignore[method-assign]
        runner = environment.runner
        self.worker = int(getattr(runner, "worker_index", 0) or 0)
        number = next(_numbers)
        glasses = self.load_settings.glasses(self.worker, number)
        self.client = LoadGlasses(
            glasses,
            _LocustSink(environment),
            rng=random.Random(f"{self.load_settings.seed}:{glasses.email}"),
            worker=self.worker,
            probe_timeout_s=self.load_settings.probe_timeout_s,
            history=_state.get("glasses_history"),
        )

    def on_start(self) -> None:
        self.client.start()

    def on_stop(self) -> None:
        self.client.stop()

    @task
    def probe(self) -> None:
        """The echo probe (the user's Locust task; paced by ``--glasses-probe-interval``)."""
        if self.load_settings.probe_interval_s > 0:
            self.client.send_probe()
