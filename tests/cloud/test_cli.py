"""``wsquake cloud``: bad config exits 64 naming the key; a real run prints where it
listens, serves /health, and stops cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from wsquake.cloud import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cloud.toml"
WAIT_S = 20.0

# Only the cloud's sub-command: independent of the other areas' CLI modules.
RUNNER = (
    "import argparse, sys\n"
    "from wsquake.cloud import cli\n"
    "p = argparse.ArgumentParser(); cli.add_parser(p.add_subparsers())\n"
    "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))\n"
)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["cloud", *argv])


def test_bad_config_value_exits_64_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[timings]\napp_grace_s = "abc"\n')
    assert cli.run(parse("--config", str(path))) == 64
    assert 'timings.app_grace_s: expected a number >= 0, got "abc"' in capsys.readouterr().err


def test_missing_config_file_exits_64(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(parse("--config", str(tmp_path / "nope.toml"))) == 64
    assert "config file not found" in capsys.readouterr().err


def test_flags_override_the_file() -> None:
    settings = cli.build_settings(
        parse("--config", str(EXAMPLE), "--port", "0", "--time-scale", "0.5", "--host", "::1")
    )
    assert (settings.port, settings.timings.time_scale, settings.host) == (0, 0.5, "::1")


async def test_cloud_prints_its_address_serves_health_and_stops_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUNNER, "cloud", "--config", str(EXAMPLE), "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(WAIT_S):
            line = (await proc.stdout.readline()).decode()
        match = re.match(
            r"wsquake cloud listening on (http://127\.0\.0\.1:(\d+)) \(glasses "
            r"ws://127\.0\.0\.1:\2/glasses-ws, apps ws://127\.0\.0\.1:\2/app-ws\)", line
        )
        assert match, line
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(match.group(1) + "/health")
        assert response.json() == {"status": "ok"}
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT_S):
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
