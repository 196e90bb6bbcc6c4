"""Process steps on the timeline (kill / pause / restart) and harness errors, with real
child processes observed from outside (psutil)."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from wsquake.history import EventKind, MemoryHistory, Outcome
from wsquake.scenarios.components import Components
from wsquake.scenarios.loader import load_scenario
from wsquake.scenarios.model import (
    ActionPhase,
    ProcessAction,
    ProcessStep,
    ProcessTarget,
    Scenario,
    TimelineAction,
)
from wsquake.scenarios.rundir import Journal, RunDir
from wsquake.scenarios.runner import Runner, RunSettings, exit_code
from wsquake.scenarios.timeline import FaultDriver

from .run_helpers import write_scenario

CHILD = "import signal; print('up', flush=True); signal.pause()"


def up(line: str) -> str | None:
    return line if re.fullmatch("up", line) else None


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[FaultDriver]:
    sdir = RunDir(tmp_path, "r").scenario_dir("t")
    journal = Journal(tmp_path / "journal.jsonl")
    components = Components(sdir, journal, stop_timeout=2)
    await components.start("apps", [sys.executable, "-c", CHILD], up,
                           target=ProcessTarget.APPS)
    driver = FaultDriver(client=None, topology=None, components=components,
                         history=MemoryHistory("runner"), journal=journal, time_scale=1.0)
    try:
        yield driver
    finally:
        await components.stop_all()
        journal.close()


def actions(step: ProcessStep) -> list[TimelineAction]:
    return Scenario(name="t", description="x", steps=(step,)).timeline()


def status(driver: FaultDriver) -> str:
    (proc,) = driver.components.of(ProcessTarget.APPS)
    assert proc.pid is not None
    return str(psutil.Process(proc.pid).status())


async def test_a_pause_step_stops_the_process_and_its_end_continues_it(
    driver: FaultDriver,
) -> None:
    start, end = actions(ProcessStep(ProcessTarget.APPS, ProcessAction.PAUSE, 0, 1))
    await driver.execute(start)
    assert status(driver) == psutil.STATUS_STOPPED
    await driver.execute(end)
    assert status(driver) != psutil.STATUS_STOPPED


async def test_a_kill_step_kills_and_its_end_starts_a_new_process(driver: FaultDriver) -> None:
    (proc,) = driver.components.of(ProcessTarget.APPS)
    first = proc.pid
    start, end = actions(ProcessStep(ProcessTarget.APPS, ProcessAction.KILL, 0, 1))
    await driver.execute(start)
    assert proc.returncode == -9
    await driver.execute(end)
    assert proc.pid != first and status(driver) != psutil.STATUS_ZOMBIE
    events = [(e.kind, e.outcome) for e in driver.history.events]  # type: ignore[attr-defined]
    assert events == [(EventKind.FAULT_START, Outcome.OK), (EventKind.FAULT_END, Outcome.OK)]


async def test_rollback_continues_a_paused_process(driver: FaultDriver) -> None:
    (start, _) = actions(ProcessStep(ProcessTarget.APPS, ProcessAction.PAUSE, 0, 5))
    assert start.phase is ActionPhase.START
    await driver.execute(start)
    assert await driver.rollback() == []
    assert status(driver) != psutil.STATUS_STOPPED


async def test_a_step_on_a_process_the_run_did_not_start_fails_by_name(
    driver: FaultDriver,
) -> None:
    (start, _) = actions(ProcessStep(ProcessTarget.CLOUD, ProcessAction.PAUSE, 0, 5))
    with pytest.raises(RuntimeError, match="no cloud process was started by this run"):
        await driver.execute(start)


async def test_an_unreachable_fault_proxy_is_a_harness_error_with_exit_70(
    tmp_path: Path,
) -> None:
    scenario = load_scenario(write_scenario(tmp_path / "tiny.py"))
    runner = Runner(RunSettings(out=tmp_path / "runs", toxiproxy_url="http://127.0.0.1:1",
                                proxy_ready_timeout_s=0.3))
    result = await runner.run([scenario])
    (outcome,) = result.scenarios
    assert outcome.verdict == "error" and "Toxiproxy" in (outcome.error or "")
    assert exit_code(result) == 70
    assert (result.path / "summary.json").is_file()
