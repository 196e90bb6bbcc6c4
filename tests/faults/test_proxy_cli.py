"""``wsquake proxy`` as a user runs it: a real subprocess, the URL on stdout, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests

START_TIMEOUT = 20.0


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wsquake", "--log-level", "WARNING", "proxy", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=START_TIMEOUT)
    return process.returncode, err


def test_proxy_command_prints_the_bound_url_when_ready_and_stops_on_sigterm() -> None:
    process = start("--port", "0")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()  # blocks until the API answered /version
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        response = requests.get(url + "/version", timeout=5)
        assert response.json() == {"version": "2.12.0"}
        assert "X-Toxiproxy-Embedded" in response.headers
    finally:
        code, err = stop(process)
    assert code == 0, err


def test_go_style_flags_and_config_file_create_the_proxies(tmp_path: Path) -> None:
    config = tmp_path / "toxiproxy.json"
    config.write_text(json.dumps([{"name": "ws", "upstream": "127.0.0.1:9", "listen": ":0"}]))
    process = start("-port=0", "-config", str(config), "-proxy-metrics", "-seed", "7")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        proxies = requests.get(url + "/proxies", timeout=5).json()
        assert list(proxies) == ["ws"] and proxies["ws"]["enabled"] is True
        assert requests.get(url + "/metrics", timeout=5).status_code == 200
    finally:
        code, err = stop(process)
    assert code == 0, err


def test_a_bad_config_file_exits_64_naming_the_problem(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps([{"name": "a"}]))
    process = start("--port", "0", "--config", str(config))
    _, err = process.communicate(timeout=START_TIMEOUT)
    assert process.returncode == 64
    assert "missing required field: upstream at proxy 1" in err
    not_json = tmp_path / "broken.json"
    not_json.write_text("{")
    process = start("--port", "0", "--config", str(not_json))
    _, err = process.communicate(timeout=START_TIMEOUT)
    assert process.returncode == 64 and "not valid JSON" in err


def test_version_flag_prints_both_versions() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wsquake.faults.proxy", "-version"],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert result.returncode == 0 and "Toxiproxy API 2.12.0" in result.stdout


def test_bad_port_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wsquake", "proxy", "--port", "99999"],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert result.returncode == 64 and "port must be in 0..65535" in result.stderr
