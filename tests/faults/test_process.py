"""Process faults (wsquake.faults.process): real child processes, observed from outside."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import psutil
import pytest

from wsquake.faults.process import (
    ManagedProcess,
    ProcessStartError,
    ProcessState,
    ProcessStateError,
)

# A tiny TCP server: binds argv[1] (0 = any port), announces it, greets every client.
SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hi\n")
    c.close()
"""

# Ignores SIGTERM, so only the SIGKILL escalation can stop it.
STUBBORN = r"""
import signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
sys.stdin.read() if False else signal.pause()
"""

# Starts a grandchild in the same process group and announces both PIDs.
PARENT = r"""
import subprocess, sys, signal
child = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
print("pids", child.pid, flush=True)
signal.pause()
"""


def _port(line: str) -> int | None:
    match = re.fullmatch(r"listening (\d+)", line)
    return int(match.group(1)) if match else None


def server(name: str = "srv", port: int = 0, **kw: object) -> ManagedProcess:
    return ManagedProcess(
        name, [sys.executable, "-c", SERVER, str(port)], ready=_port, ready_timeout=20, **kw
    )  # type: ignore[arg-type]


async def greet(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(10):
            return await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_start_returns_the_value_the_ready_line_announced() -> None:
    async with server() as proc:
        assert isinstance(proc.ready_value, int)
        assert proc.state is ProcessState.RUNNING
        assert await greet(proc.ready_value) == b"hi\n"


async def test_kill_sends_sigkill_and_the_process_is_gone() -> None:
    async with server() as proc:
        pid = proc.pid
        assert pid is not None
        await proc.kill()
        assert proc.returncode == -signal.SIGKILL
        assert proc.state is ProcessState.EXITED
        assert gone(pid)


async def test_pause_stops_the_process_and_resume_answers_the_waiting_client() -> None:
    async with server() as proc:
        port = proc.ready_value
        assert isinstance(port, int) and proc.pid is not None
        await proc.pause()
        assert psutil.Process(proc.pid).status() == psutil.STATUS_STOPPED
        assert proc.state is ProcessState.PAUSED
        # The kernel accepts the TCP connection, but nobody greets it until SIGCONT.
        pending = asyncio.ensure_future(greet(port))
        await proc.resume()
        assert await pending == b"hi\n"
        assert psutil.Process(proc.pid).status() != psutil.STATUS_STOPPED


async def test_restart_on_the_same_port_serves_again_with_a_new_pid() -> None:
    async with server() as proc:
        port = proc.ready_value
        first = proc.pid
        assert isinstance(port, int) and first is not None
        again = await proc.restart([sys.executable, "-c", SERVER, str(port)])
        assert again == port
        assert proc.pid != first and gone(first)
        assert proc.starts == 2
        assert await greet(port) == b"hi\n"


async def test_restart_after_a_kill_starts_the_process_again() -> None:
    async with server() as proc:
        await proc.kill()
        await proc.restart()
        assert proc.state is ProcessState.RUNNING


async def test_stop_continues_a_paused_process_so_it_exits() -> None:
    proc = server()
    await proc.start()
    pid = proc.pid
    assert pid is not None
    await proc.pause()
    await proc.stop()
    assert gone(pid)
    assert proc.returncode == -signal.SIGTERM


async def test_stop_escalates_to_sigkill_when_sigterm_is_ignored() -> None:
    proc = ManagedProcess(
        "stubborn", [sys.executable, "-c", STUBBORN], ready=lambda line: line == "ready" or None
    )
    await proc.start()
    assert await proc.stop(grace_s=0.5) == -signal.SIGKILL


async def test_stop_kills_the_whole_process_group() -> None:
    def pids(line: str) -> int | None:
        return int(line.split()[1]) if line.startswith("pids ") else None

    proc = ManagedProcess("parent", [sys.executable, "-c", PARENT], ready=pids)
    await proc.start()
    grandchild = proc.ready_value
    assert isinstance(grandchild, int)
    watched = psutil.Process(grandchild)
    await proc.stop()
    try:  # not our child: psutil waits on the kernel's view, bounded
        await asyncio.to_thread(watched.wait, 10)
    except psutil.NoSuchProcess:
        pass
    assert gone(grandchild)


async def test_a_child_that_exits_before_ready_raises_with_its_output() -> None:
    proc = ManagedProcess(
        "dies", [sys.executable, "-c", "print('bad config: port'); raise SystemExit(64)"],
        ready=lambda line: None,
    )
    with pytest.raises(ProcessStartError, match=r"exited with code 64.*bad config: port"):
        await proc.start()
    assert proc.state is ProcessState.EXITED


async def test_a_child_that_never_announces_readiness_times_out_and_is_stopped() -> None:
    proc = ManagedProcess(
        "silent", [sys.executable, "-c", "import signal; signal.pause()"],
        ready=lambda line: None, ready_timeout=0.5,
    )
    with pytest.raises(ProcessStartError, match="not ready within 0.5 s"):
        await proc.start()
    assert proc.pids and gone(proc.pids[0])


async def test_a_missing_executable_raises_a_start_error_naming_it() -> None:
    proc = ManagedProcess("nope", ["/nonexistent/wsquake-bin"])
    with pytest.raises(ProcessStartError, match="cannot execute /nonexistent/wsquake-bin"):
        await proc.start()


async def test_resume_of_a_running_process_is_rejected_by_name() -> None:
    async with server() as proc:
        with pytest.raises(ProcessStateError, match="srv: cannot resume a process that is running"):
            await proc.resume()


async def test_output_after_readiness_is_drained_into_the_log_file(tmp_path: Path) -> None:
    log = tmp_path / "srv.log"
    async with server(log_path=log) as proc:
        port = proc.ready_value
    assert log.read_text().splitlines() == [f"listening {port}"]
    assert (tmp_path / "srv.err.log").exists()


async def test_cancelling_start_before_ready_stops_the_child(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen = asyncio.Event()
    proc = ManagedProcess(
        "slow", [sys.executable, "-c", "import signal; print('booting', flush=True); "
                 "signal.pause()"],
        ready=lambda line: None, on_line=lambda line: seen.set(),
    )
    starting = asyncio.ensure_future(proc.start())
    async with asyncio.timeout(20):
        await seen.wait()
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    assert proc.state is ProcessState.EXITED and gone(proc.pids[0])
    assert "never retrieved" not in caplog.text
