"""``wsquake glasses`` as a real process: Ctrl-C (SIGINT) stops it cleanly and the
history holds every client's close."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

from wsquake.cloud import CloudServer
from wsquake.history import EventKind, Outcome, read_history

from .conftest import SECRET, WAIT_S

STARTUP_S = 30.0  # a fresh interpreter importing wsquake on a busy, shared machine


async def test_sigint_stops_the_fleet_cleanly_and_flushes_the_history(
    cloud: CloudServer, tmp_path: Path
) -> None:
    history = tmp_path / "glasses-0.jsonl"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wsquake", "--log-level", "WARNING", "glasses",
        "--cloud-url", cloud.ws_url("/glasses-ws"), "--jwt-secret", SECRET,
        "--users", "3", "--ramp", "0", "--seed", "4", "--policy", "ios",
        "--rates", "head_position=10", "--history", str(history),
        "--status-every", "0.1",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(STARTUP_S):
            while True:
                line = (await process.stdout.readline()).decode()
                assert line, "wsquake glasses exited early"
                sent = re.search(r" sent (\d+) ", line)
                if line.startswith("users 3/3 connected 3 ") and sent and int(sent[1]) >= 3:
                    break  # every user connected, and streaming
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(WAIT_S):
            rest, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert rest.decode().splitlines()[-1].startswith("wsquake glasses: stopped: users 3/3")
    log = read_history(history)
    assert not log.truncated
    closes = log.of(EventKind.CLOSE, Outcome.OK)
    assert len(closes) == 3 and {e["code"] for e in closes} == {1000}
    assert log.of(EventKind.SEND, Outcome.OK)
