"""The app fleet and the ``wsquake apps`` sub-command."""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import pytest

from tests.simulators.app_fixtures import (  # noqa: F401 - app_harness is the h fixture
    SCALE,
    AppHarness,
    app_harness,
    key_for,
    until,
)
from wsquake.config import ConfigError
from wsquake.history import EventKind, read_history_file
from wsquake.protocol import serialise
from wsquake.simulators.app_cli import add_apps_parser, run_apps, serve_apps
from wsquake.simulators.app_fleet import AppFleet, AppFleetSettings
from wsquake.simulators.probe import Probe, make_probe, parse_echo

PKGS = ("com.example.one", "com.example.two")
EMAIL = "hank@example.com"


async def test_fleet_registers_every_app_with_the_cloud(h: AppHarness) -> None:
    cloud = await h.cloud(packages=PKGS)
    fleet = await h.enter(AppFleet(AppFleetSettings(
        packages=PKGS, api_key="key-{package}", register_with=cloud.url, time_scale=SCALE)))
    assert len({s.port for s in fleet.servers}) == 2
    body = (await h.http.get(f"{cloud.url}/api/tpa-server/registrations")).json()
    regs = {r["packageName"]: r for r in body["registrations"]}
    for server in fleet.servers:
        reg = regs[server.package_name]
        assert reg["registrationId"] == server.registration_id
        assert reg["webhookUrl"] == server.webhook_url
        assert reg["serverUrls"] == [cloud.ws_url("/app-ws")]
        assert reg["isActive"] is True


async def test_fleet_apps_started_from_the_glasses_echo_probes(h: AppHarness) -> None:
    fleet = await h.enter(AppFleet(AppFleetSettings(
        packages=PKGS, api_key="key-{package}", time_scale=SCALE)))
    cloud = await h.cloud(*fleet.servers, display_throttle_ms=0)
    glasses = await h.glasses(cloud, EMAIL)
    await glasses.start_app(PKGS[1])  # standard apps: one foreground app at a time

    async def live() -> bool:
        return fleet.stats().live == 1

    await until(live, what="one live session")
    sent_ns = time.time_ns()
    await glasses.send_text(serialise(make_probe(1, sent_ns)))
    display = await glasses.next_message("display_event",
                                         where=lambda m: parse_echo(m) is not None)
    assert parse_echo(display) == Probe(1, sent_ns) and display["packageName"] == PKGS[1]
    assert fleet.apps[PKGS[1]].echoed == 1
    stats = fleet.stats()
    assert (stats.servers, stats.sessions, stats.received, stats.lost) == (2, 1, 1, 0)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"packages": ()}, "packages"),
        ({"packages": ("a.b", "a.b")}, "packages[1]"),
        ({"packages": ("a b",)}, "packages[0]"),
        ({"api_key": "key-{pkg}"}, "api_key"),
        ({"profile": "sdk_3"}, "profile"),
        ({"time_scale": 0}, "time_scale"),
        ({"register_with": "cloud:8002"}, "register_with"),
        ({"port": 65535, "packages": ("a.b", "c.d")}, "port"),
    ],
)
def test_fleet_settings_reject_bad_values_naming_the_key(kwargs: dict, key: str) -> None:
    base = {"packages": ("a.b",), "api_key": "k"}
    with pytest.raises(ConfigError) as info:
        AppFleetSettings(**{**base, **kwargs})
    assert info.value.key == key


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="wsquake")
    add_apps_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["apps", *argv])


def test_apps_command_runs_prints_ready_lines_and_writes_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "apps.jsonl"
    args = parse(["--packages", ",".join(PKGS), "--api-key", "key-{package}",
                  "--history", str(history), "--duration", "0.2", "--subscribe",
                  "head_position,VAD", "--seed", "7", "--component", "apps-3"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out.splitlines()
    ready = [line.split() for line in out if line.startswith("ready ")]
    assert [r[1] for r in ready] == list(PKGS)
    assert all(r[2].startswith("http://127.0.0.1:") and r[2].endswith("/webhook") for r in ready)
    assert out[-1].startswith("stopped: apps 2 ")
    notes = [e for e in read_history_file(history).events if e.kind is EventKind.NOTE]
    assert "seed 7" in str(notes[0]["text"])
    assert {e.component for e in read_history_file(history).events} == {"apps-3"}


def test_apps_command_with_bad_arguments_exits_64(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["--packages", "a.b,a.b", "--api-key", "k"])
    assert run_apps(args) == 64
    assert "packages[1]" in capsys.readouterr().err
    args = parse(["--packages", "a.b", "--api-key", "k", "--time-scale", "-1"])
    assert run_apps(args) == 64


def test_apps_command_that_cannot_listen_exits_70(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        args = parse(["--packages", "a.b", "--api-key", "k", "--port", str(port),
                      "--duration", "0"])
        assert run_apps(args) == 70
        assert "cannot listen" in capsys.readouterr().err
    finally:
        taken.close()


async def test_status_lines_are_plain_when_not_a_tty() -> None:
    out = io.StringIO()
    settings = AppFleetSettings(packages=("a.b",), api_key=key_for("a.b"), time_scale=SCALE)
    await serve_apps(settings, duration=0.3, every=0.05, out=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("ready a.b http://127.0.0.1:")
    assert any(line.startswith("apps 1 · sessions 0") for line in lines[1:-1])
    assert lines[-1].startswith("stopped: ")


def test_flags_override_env_which_overrides_the_config_file(tmp_path: Path) -> None:
    from wsquake.simulators.app_cli import build_fleet_settings

    config = tmp_path / "apps.toml"
    config.write_text('packages = ["a.b", "c.d"]\napi_key = "file-key"\n'
                      'time_scale = 0.5\nprofile = "sdk_2_0"\n')
    args = parse(["--config", str(config), "--time-scale", "0.1"])
    env = {"WSQUAKE_APPS_API_KEY": "env-{package}", "WSQUAKE_APPS_TIME_SCALE": "0.2",
           "WSQUAKE_PORT": "1"}  # another area's variable: ignored
    settings = build_fleet_settings(args, env)
    assert settings.packages == ("a.b", "c.d")
    assert settings.key_for("a.b") == "env-a.b"
    assert settings.time_scale == 0.1
    assert settings.profile.value == "sdk_2_0" and settings.port == 0


def test_apps_command_without_packages_exits_64_naming_packages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = parse(["--api-key", "k"])
    assert run_apps(args) == 64
    assert "packages" in capsys.readouterr().err


async def test_fleet_stats_keep_what_was_received_after_shutdown(h: AppHarness) -> None:
    settings = AppFleetSettings(packages=PKGS[:1], api_key="key-{package}", time_scale=SCALE)
    async with AppFleet(settings) as fleet:
        cloud = await h.cloud(*fleet.servers)
        glasses = await h.glasses(cloud, EMAIL)
        await glasses.start_app(PKGS[0])

        async def live() -> bool:
            return fleet.stats().live == 1

        await until(live, what="one live session")
        await glasses.send_event("button_press", buttonId="main", pressType="short", seq=1)

        async def received() -> bool:
            return fleet.stats().received == 1

        await until(received, what="one message received")
    stats = fleet.stats()
    assert (stats.received, stats.live, stats.sessions) == (1, 0, 0)
