"""``wsquake load`` headless, end to end: the command runs Locust in a child process with
the glasses users against the reference cloud and the echo app, stops at --run-time and
leaves its statistics and history behind (the README's headless command)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from .conftest import ECHO, SCALE, SECRET, EchoStack
from .locust_procs import csv_requests, last_summary

pytestmark = pytest.mark.timeout(90)

#: ``wsquake load`` through its own handler (the lead registers it in wsquake/cli.py).
LOAD = ("import sys, argparse; from wsquake.load import cli; p = argparse.ArgumentParser();"
        "cli.add_parser(p.add_subparsers()); a = p.parse_args(sys.argv[1:]);"
        "sys.exit(a.handler(a))")


async def test_a_headless_run_reports_connects_acks_and_echoes_and_exits_0(
    echo_stack: EchoStack, tmp_path: Path
) -> None:
    history, prefix = tmp_path / "locust.jsonl", tmp_path / "locust"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOAD, "load", "--host", echo_stack.cloud.ws_url("/glasses-ws"),
        "-u", "3", "-r", "10", "-t", "6s", "--csv", str(prefix), "--history", str(history),
        "--glasses-jwt-secret", SECRET, "--glasses-apps", ECHO,
        "--glasses-probe-interval", "0.5", "--glasses-time-scale", str(SCALE),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            _, stderr = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr.decode()[-2000:]
    counts = csv_requests(prefix)
    assert counts["connect"] == 3 and counts["ack"] == 3 and counts["echo"] >= 3
    final = last_summary(history)
    # The final summary is written on quitting, after the CSV: echoes can only grow.
    assert final["echoes"] >= counts["echo"] and final["failures"] == 0
    assert final["p99_echo_ms"] is not None and final["p99_echo_ms"] > 0
