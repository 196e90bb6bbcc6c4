"""Process faults: one child process the harness starts, kills, pauses, resumes, restarts.

:class:`ManagedProcess` runs ``argv`` in its **own process group** (``start_new_session``),
so a terminal Ctrl-C reaches only the harness (which then stops every child in order) and
signals reach the child's own children too. On Linux the child also gets
``PR_SET_PDEATHSIG = SIGKILL``: if the harness itself is killed, no child outlives it.

Readiness is never a sleep: :meth:`ManagedProcess.start` reads the child's stdout line by
line until ``ready(line)`` returns a value (e.g. the URL a server announces) or the child
exits, under ``ready_timeout``. After that stdout keeps being drained into ``log_path`` (so
the pipe never fills) by a reader task the process owns and awaits on stop.

Errors::

    ProcessError                     base of everything raised here
    ├── ProcessStartError            could not start, exited or timed out before ready
    └── ProcessStateError            an operation illegal in the current state (named)

Faults: :meth:`kill` (SIGKILL to the group), :meth:`pause` / :meth:`resume` (SIGSTOP /
SIGCONT), :meth:`restart` (stop, then start again, optionally with a new ``argv`` such as
the port the first run bound, so clients reconnect to the same address). :meth:`stop`
sends SIGTERM (continuing a paused child first) and SIGKILL after ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import psutil

__all__ = [
    "ManagedProcess",
    "ProcessError",
    "ProcessStartError",
    "ProcessState",
    "ProcessStateError",
    "ReadyCheck",
]

logger = logging.getLogger(__name__)

#: ``ready(line) -> value or None``: the first non-``None`` value makes the child ready.
ReadyCheck = Callable[[str], object | None]

_PR_SET_PDEATHSIG = 1
#: How long pause/resume wait for the kernel to show the stopped/continued state.
_SIGNAL_SETTLE_S = 2.0


class ProcessError(Exception):
    """Base of the process-fault errors."""


class ProcessStartError(ProcessError):
    """The child could not start, exited, or did not announce readiness in time."""

    def __init__(self, name: str, problem: str, output: str = "") -> None:
        text = f"{name}: {problem}"
        if output:
            text += f"; last output: {output}"
        super().__init__(text)
        self.name = name
        self.problem = problem
        self.output = output


class ProcessStateError(ProcessError):
    """An operation that the current state does not allow (e.g. resume a running child)."""

    def __init__(self, name: str, operation: str, state: ProcessState) -> None:
        super().__init__(f"{name}: cannot {operation} a process that is {state.value}")
        self.name = name
        self.operation = operation
        self.state = state


class ProcessState(enum.StrEnum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"  # killed, crashed or stopped


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class ManagedProcess:
    """One child process; an async context manager that always stops what it started."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        ready: ReadyCheck | None = None,
        ready_timeout: float = 20.0,
        stop_timeout: float = 5.0,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        log_path: str | Path | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        if not name:
            raise ValueError("name must not be empty")
        if not argv:
            raise ValueError(f"{name}: argv must not be empty")
        if not ready_timeout > 0:
            raise ValueError(f"{name}: ready_timeout must be > 0, got {ready_timeout!r}")
        if not stop_timeout > 0:
            raise ValueError(f"{name}: stop_timeout must be > 0, got {stop_timeout!r}")
        self.name = name
        self.argv: tuple[str, ...] = tuple(argv)
        self._ready = ready
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self._env = dict(env) if env is not None else None
        self._cwd = str(cwd) if cwd is not None else None
        self.log_path = Path(log_path) if log_path is not None else None
        self._on_line = on_line
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._log: IO[str] | None = None
        self._stderr: IO[bytes] | int = asyncio.subprocess.DEVNULL
        self._tail: list[str] = []
        self._state = ProcessState.NEW
        self.ready_value: object | None = None
        self.starts = 0
        #: Every PID this object has started (tests assert none survives).
        self.pids: list[int] = []

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid}, state={self._state.value})"

    # -- state -----------------------------------------------------------------------

    @property
    def state(self) -> ProcessState:
        if self._state in (ProcessState.RUNNING, ProcessState.PAUSED):
            if self._proc is not None and self._proc.returncode is not None:
                return ProcessState.EXITED
        return self._state

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc is not None else None

    def _require(self, operation: str, *allowed: ProcessState) -> None:
        state = self.state
        if state not in allowed:
            raise ProcessStateError(self.name, operation, state)

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self, argv: Sequence[str] | None = None) -> object | None:
        """Start the child and wait until it is ready; returns what ``ready`` returned."""
        self._require("start", ProcessState.NEW, ProcessState.EXITED)
        await self._release()  # a previous run's reader and files
        if argv is not None:
            self.argv = tuple(argv)
        self._state = ProcessState.STARTING
        self._tail = []
        self.ready_value = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("a", encoding="utf-8")
            self._stderr = self.log_path.with_suffix(".err.log").open("ab")
        kwargs: dict[str, object] = {"start_new_session": True}
        if sys.platform.startswith("linux"):
            kwargs["preexec_fn"] = _die_with_parent
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=self._stderr,
                env=self._env,
                cwd=self._cwd,
                **kwargs,  # type: ignore[arg-type]
            )
        except OSError as exc:
            self._state = ProcessState.EXITED
            await self._release()
            raise ProcessStartError(self.name, f"cannot execute {self.argv[0]}: {exc}") from exc
        self.starts += 1
        self.pids.append(self._proc.pid)
        logger.info("%s: started pid %d: %s", self.name, self._proc.pid, " ".join(self.argv))
        ready: asyncio.Future[object | None] = asyncio.get_running_loop().create_future()
        if self._ready is None:
            ready.set_result(None)
        self._reader = asyncio.get_running_loop().create_task(
            self._read(self._proc, ready), name=f"process-reader-{self.name}"
        )
        try:
            async with asyncio.timeout(self.ready_timeout):
                value = await asyncio.shield(ready)
        except TimeoutError:
            await self._terminate()
            raise ProcessStartError(
                self.name, f"not ready within {self.ready_timeout:g} s", self._tail_text()
            ) from None
        except BaseException:
            await self._terminate()
            raise
        finally:
            # Nobody waits on it any more: a later "exited before ready" is not an error.
            if not ready.done():
                ready.cancel()
            elif not ready.cancelled():
                ready.exception()
        self.ready_value = value
        self._state = ProcessState.RUNNING
        return value

    def _tail_text(self) -> str:
        return " | ".join(self._tail[-5:])

    async def _read(
        self, proc: asyncio.subprocess.Process, ready: asyncio.Future[object | None]
    ) -> None:
        assert proc.stdout is not None
        try:
            while True:
                raw = await proc.stdout.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self._tail = [*self._tail[-19:], line]
                if self._log is not None:
                    self._log.write(line + "\n")
                    self._log.flush()
                if self._on_line is not None:
                    self._on_line(line)
                if not ready.done() and self._ready is not None:
                    value = self._ready(line)
                    if value is not None:
                        ready.set_result(value)
            code = await proc.wait()
            if not ready.done():
                ready.set_exception(
                    ProcessStartError(
                        self.name, f"exited with code {code} before it was ready",
                        self._tail_text(),
                    )
                )
        except Exception as exc:  # a broken ready predicate: surface it to start()
            if not ready.done():
                ready.set_exception(exc)
            else:
                logger.exception("%s: output reader failed", self.name)

    async def kill(self) -> None:
        """SIGKILL the child's process group (a crash); the state becomes ``exited``."""
        self._require("kill", ProcessState.RUNNING, ProcessState.PAUSED)
        self._signal(signal.SIGKILL)
        await self._wait_exit()
        self._state = ProcessState.EXITED
        logger.info("%s: killed", self.name)

    async def pause(self) -> None:
        """SIGSTOP the process group: sockets stay open, nothing is read or answered."""
        self._require("pause", ProcessState.RUNNING)
        self._signal(signal.SIGSTOP)
        self._state = ProcessState.PAUSED
        await self._until_status(stopped=True)
        logger.info("%s: paused", self.name)

    async def resume(self) -> None:
        """SIGCONT the process group."""
        self._require("resume", ProcessState.PAUSED)
        self._signal(signal.SIGCONT)
        self._state = ProcessState.RUNNING
        await self._until_status(stopped=False)
        logger.info("%s: resumed", self.name)

    async def restart(self, argv: Sequence[str] | None = None) -> object | None:
        """Stop (SIGTERM, SIGKILL after the deadline), then start again and wait ready."""
        self._require("restart", ProcessState.RUNNING, ProcessState.PAUSED, ProcessState.EXITED)
        await self._terminate()
        return await self.start(argv)

    async def stop(self, grace_s: float | None = None) -> int | None:
        """Stop the child whatever its state; idempotent. Returns its exit code.

        ``grace_s`` (default ``stop_timeout``) is how long SIGTERM gets before SIGKILL.
        """
        await self._terminate(grace_s)
        return self.returncode

    # -- internals ---------------------------------------------------------------------

    async def _until_status(self, *, stopped: bool) -> None:
        """Signals are delivered asynchronously: wait until the kernel shows the change."""
        if self._proc is None:
            return
        try:
            async with asyncio.timeout(_SIGNAL_SETTLE_S):
                while (self._status() == psutil.STATUS_STOPPED) != stopped:
                    if self._proc.returncode is not None:
                        return
                    await asyncio.sleep(0.002)
        except TimeoutError:
            logger.warning("%s: still %s after %g s", self.name, self._status(), _SIGNAL_SETTLE_S)

    def _status(self) -> str:
        assert self._proc is not None
        try:
            return str(psutil.Process(self._proc.pid).status())
        except psutil.NoSuchProcess:
            return psutil.STATUS_DEAD

    def _signal(self, sig: signal.Signals) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # the group leader is gone; a zombie is left
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)

    async def _wait_exit(self, limit_s: float | None = None) -> bool:
        proc = self._proc
        if proc is None:
            return True
        try:
            async with asyncio.timeout(limit_s):
                await proc.wait()
        except TimeoutError:
            return False
        return True

    async def _terminate(self, grace_s: float | None = None) -> None:
        """SIGTERM (+SIGCONT if paused) to the group, SIGKILL after ``grace_s``."""
        proc = self._proc
        try:
            if proc is not None and proc.returncode is None:
                deadline = self.stop_timeout if grace_s is None else grace_s
                self._signal(signal.SIGTERM)
                self._signal(signal.SIGCONT)
                if not await self._wait_exit(deadline):
                    logger.warning(
                        "%s: no exit %g s after SIGTERM; SIGKILL", self.name, deadline
                    )
                    self._signal(signal.SIGKILL)
                    await self._wait_exit()
            # Whatever the leader did, no member of its group may survive it.
            if proc is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
        finally:
            if self._state is not ProcessState.NEW:
                self._state = ProcessState.EXITED
            await self._release()

    async def _release(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            if not reader.done():
                # The pipe closes when the process exits, so this is quick; bound it anyway.
                try:
                    async with asyncio.timeout(self.stop_timeout):
                        await asyncio.shield(reader)
                except TimeoutError:
                    reader.cancel()
                    await asyncio.wait([reader])
            else:
                with contextlib.suppress(Exception):
                    reader.result()
        log, self._log = self._log, None
        if log is not None:
            log.close()
        stderr, self._stderr = self._stderr, asyncio.subprocess.DEVNULL
        if not isinstance(stderr, int):
            stderr.close()
