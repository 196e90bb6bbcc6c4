"""Locust master and workers as child processes for the load tests (Locust monkey-patches
its process with gevent, so it never runs inside pytest), and readers of what the master
writes: its history file (load_summary / load_recovery) and its CSV statistics."""

from __future__ import annotations

import asyncio
import csv
import json
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wsquake.load.cli import locustfile_path

POLL_S = 0.1


def free_port() -> int:
    """A port free right now (Locust's master cannot bind port 0 and report it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def master_argv(
    host: str, port: int, *, users: int, workers: int, history: Path, csv_prefix: Path,
    extra: tuple[str, ...] = (),
) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", locustfile_path(), "--master", "--headless",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
        "--expect-workers", str(workers), "--host", host, "-u", str(users),
        "-r", str(users), "-t", "50s", "--csv", str(csv_prefix),
        "--wsquake-history", str(history), "--wsquake-summary-every", "0.3",
        "--loglevel", "INFO", *extra,
    ]


def worker_argv(port: int) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", locustfile_path(), "--worker",
        "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "INFO",
    ]


def read_events(path: Path, kind: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        if line.strip():
            event = json.loads(line)
            if event["kind"] == kind:
                events.append(event)
    return events


async def wait_history(
    path: Path, what: str, pred: Callable[[Path], bool], timeout: float  # noqa: ASYNC109
) -> None:
    """Poll the master's history file (another process writes it) under a deadline."""
    try:
        async with asyncio.timeout(timeout):
            # Another process appends to the file: there is no event to await.
            while not pred(path):  # noqa: ASYNC110
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        text = _tail(path)
        raise AssertionError(f"timed out waiting for {what}; history tail: {text}") from None


def _tail(path: Path) -> str:
    return path.read_text()[-1500:] if path.exists() else "(no file)"


def last_summary(path: Path) -> dict[str, Any]:
    summaries = read_events(path, "load_summary")
    return summaries[-1] if summaries else {}


def csv_requests(prefix: Path) -> dict[str, int]:
    """``Name -> Request Count`` from Locust's final ``PREFIX_stats.csv``."""
    with Path(f"{prefix}_stats.csv").open(newline="") as file:
        return {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(file)}
