"""A local distributed Locust run: a master and two workers (child processes) drive four
glasses users through the embedded fault proxy's glasses-link against the reference cloud
and an echo app; the test cuts the link and the master reports the recoveries.

Timeline (protocol seconds x SCALE = 0.05): users spawn at once, init after 0.05 s, probe
every 0.3 s wall; the link goes down and straight up again; Android backoff <= 2 s x SCALE,
so every user re-acks well inside the deadline. Master summaries every 0.3 s wall.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest

from wsquake.faults.process import ManagedProcess
from wsquake.faults.proxy import EmbeddedToxiproxy

from .conftest import ECHO, SCALE, SECRET, EchoStack
from .locust_procs import (
    csv_requests,
    free_port,
    last_summary,
    master_argv,
    read_events,
    wait_history,
    worker_argv,
)

USERS = 4
WORKERS = 2
DEADLINE_S = 40.0

pytestmark = pytest.mark.timeout(90)


async def test_master_and_two_workers_report_connects_echoes_and_reconnects(
    echo_stack: EchoStack, tmp_path: Path
) -> None:
    history, prefix = tmp_path / "locust.jsonl", tmp_path / "locust"
    cloud_host, cloud_port = echo_stack.cloud.url.removeprefix("http://").rsplit(":", 1)
    port = free_port()
    argv = master_argv(
        "", port, users=USERS, workers=WORKERS, history=history, csv_prefix=prefix,
        extra=(
            "--glasses-jwt-secret", SECRET, "--glasses-apps", ECHO,
            "--glasses-probe-interval", "0.3", "--glasses-time-scale", str(SCALE),
        ),
    )
    pids: list[int] = []
    async with EmbeddedToxiproxy(port=0) as proxy, httpx.AsyncClient(
        base_url=proxy.url, trust_env=False, timeout=10
    ) as api:
        created = await api.post("/proxies", json={
            "name": "glasses-link", "listen": "127.0.0.1:0",
            "upstream": f"{cloud_host}:{cloud_port}",
        })
        created.raise_for_status()
        listen = created.json()["listen"]
        argv[argv.index("--host") + 1] = f"ws://{listen}/glasses-ws"
        master = ManagedProcess("locust-master", argv, log_path=tmp_path / "master.log")
        workers = [
            ManagedProcess(f"locust-worker-{i}", worker_argv(port),
                           log_path=tmp_path / f"worker-{i}.log")
            for i in range(WORKERS)
        ]
        try:
            async with master:
                pids += master.pids
                for worker in workers:
                    await worker.start()
                    pids += worker.pids
                await wait_history(
                    history, "connects and echoes from every user",
                    lambda p: last_summary(p).get("acks", 0) >= USERS
                    and last_summary(p).get("echoes", 0) >= 2 * USERS,
                    DEADLINE_S,
                )
                # The fault: the glasses link goes down (live sockets cut) and up again.
                for enabled in (False, True):
                    response = await api.post(
                        "/proxies/glasses-link", json={"enabled": enabled}
                    )
                    response.raise_for_status()
                await wait_history(
                    history, "a recovery of every user at the master",
                    lambda p: len({e["user"] for e in read_events(p, "load_recovery")}) >= USERS
                    and last_summary(p).get("reconnects", 0) >= USERS,
                    DEADLINE_S,
                )
                for worker in workers:
                    await worker.stop()
        finally:
            for worker in workers:
                await worker.stop()
    assert master.returncode is not None
    recoveries = read_events(history, "load_recovery")
    assert all(0 < e["reconnect_ms"] < 10_000 for e in recoveries)
    assert {e["worker"] for e in recoveries} == {0, 1}
    final = last_summary(history)
    assert final["connects"] >= 2 * USERS and final["failures"] == 0, final
    counts = csv_requests(prefix)
    assert counts["connect"] >= 2 * USERS and counts["echo"] > 0 and counts["reconnect"] >= USERS
    assert not [pid for pid in pids if psutil.pid_exists(pid)
                and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
