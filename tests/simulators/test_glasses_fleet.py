"""GlassesFleet: seed-derived users, ramp-up, duration, and the ``wsquake glasses`` CLI."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path

import pytest

from wsquake.cli import main
from wsquake.cloud import CloudServer
from wsquake.config import ConfigError
from wsquake.history import EventKind, MemoryHistory, Outcome, read_history
from wsquake.simulators.cli import run_fleet
from wsquake.simulators.glasses import GlassesState
from wsquake.simulators.glasses_fleet import (
    GlassesFleet,
    GlassesFleetSettings,
    load_fleet_settings,
)
from wsquake.simulators.glasses_streams import StreamRates

from .conftest import SCALE, SECRET, WAIT_S, sessions


def fleet_settings(cloud: CloudServer, **overrides: object) -> GlassesFleetSettings:
    values: dict[str, object] = dict(
        cloud_url=cloud.ws_url("/glasses-ws"),
        jwt_secret=SECRET,
        policy="ios",
        time_scale=SCALE,
    )
    values.update(overrides)
    return GlassesFleetSettings(**values)  # type: ignore[arg-type]


def test_emails_derive_from_the_seed_and_may_carry_hyphens() -> None:
    plain = GlassesFleetSettings(seed=7)
    hyphen = GlassesFleetSettings(seed=7, hyphens=True)
    assert plain.email(3) == "user7x0003@example.com"
    assert hyphen.email(3) == "user-7-0003@ex-ample.com"
    assert GlassesFleetSettings(seed=8).email(3) != plain.email(3)
    assert GlassesFleetSettings(seed=7, first_user=10).email(0) == "user7x0010@example.com"


def test_same_seed_gives_the_same_per_user_randomness() -> None:
    a, b = GlassesFleetSettings(seed=5), GlassesFleetSettings(seed=5)
    assert a.rng(2).random() == b.rng(2).random()
    assert a.rng(2).random() != a.rng(3).random()


def test_reconnect_policy_is_scaled_by_time_scale() -> None:
    policy = GlassesFleetSettings(policy="ios", time_scale=0.5).reconnect_policy()
    assert policy.name == "ios" and policy.delay(0) == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"policy": "windows-phone"}, "policy"),
        ({"users": 0}, "users"),
        ({"ramp": -1}, "ramp"),
        ({"cloud_url": "http://x/glasses-ws"}, "cloud_url"),
        ({"apps": ("a.b", "a.b")}, "apps"),
        ({"rates__vad": -2}, "rates"),
        ({"custom__max_attempts": "x"}, "custom.max_attempts"),
    ],
)
def test_bad_fleet_setting_is_named(overrides: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError) as info:
        load_fleet_settings(env={}, overrides=overrides)
    assert key in str(info.value)


def test_env_overrides_the_defaults() -> None:
    settings = load_fleet_settings(
        env={"WSQUAKE_GLASSES_USERS": "12", "WSQUAKE_GLASSES_RATES_HEAD_POSITION": "2.5"}
    )
    assert settings.users == 12 and settings.rates.head_position == 2.5


def test_bad_env_value_is_named() -> None:
    with pytest.raises(ConfigError, match="users"):
        load_fleet_settings(env={"WSQUAKE_GLASSES_USERS": "many"})


async def test_fleet_ramps_users_up_at_the_configured_rate(cloud: CloudServer) -> None:
    # Timeline: 5 users at 25 users/s -> started at 0, 0.04, 0.08, 0.12, 0.16 s.
    history = MemoryHistory("glasses-0")
    settings = fleet_settings(cloud, users=5, ramp=25.0, seed=3, hyphens=True)
    before_ns = time.time_ns()
    async with GlassesFleet(settings, history=history) as fleet:
        async with asyncio.timeout(WAIT_S):
            await fleet.wait_connected()
        body = await sessions(cloud)
        users = {u["userId"] for u in body["users"] if u["state"] == "CONNECTED"}
        assert users == {settings.email(i) for i in range(5)}
        assert "connected 5" in fleet.status_line()
    # User i starts no earlier than i / ramp after the fleet started (late starts are
    # caught up, so the average rate holds), and not much later on a busy machine.
    offsets = [(e.t - before_ns) / 1e9 for e in history.of(EventKind.CONNECT, Outcome.INVOKE)]
    assert len(offsets) == 5
    for i, offset in enumerate(offsets):
        assert i * 0.04 - 0.002 <= offset <= i * 0.04 + 1.0, offsets
    assert all(c.state is GlassesState.STOPPED for c in fleet.clients)
    assert len(history.of(EventKind.CLOSE, Outcome.OK)) == 5


async def test_fleet_stops_by_itself_after_its_duration_and_writes_the_history(
    cloud: CloudServer, tmp_path: Path
) -> None:
    path = tmp_path / "glasses-3.jsonl"
    settings = fleet_settings(
        cloud,
        users=3,
        ramp=0,
        duration_s=0.5,
        history=str(path),
        component="glasses-3",
        rates=StreamRates(head_position=20),
    )
    out = io.StringIO()
    async with asyncio.timeout(WAIT_S):
        fleet = await run_fleet(settings, status_every=0.1, out=out)
    assert all(c.state is GlassesState.STOPPED for c in fleet.clients)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("wsquake glasses: stopped: users 3/3")
    assert any(line.startswith("users 3/3 connected") for line in lines[:-1])
    log = read_history(path)
    assert {e.component for e in log} == {"glasses-3"}
    assert {e.client_id for e in log} == {settings.email(i) for i in range(3)}
    assert len(log.of(EventKind.CLOSE, Outcome.OK)) == 3
    assert log.of(EventKind.SEND, Outcome.OK)


def test_cli_rejects_bad_rates_with_exit_64(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["glasses", "--cloud-url", "ws://127.0.0.1:1/glasses-ws", "--rates", "nose=3"])
    assert code == 64
    assert "rates" in capsys.readouterr().err


def test_cli_rejects_a_bad_cloud_url_with_exit_64(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["glasses", "--cloud-url", "http://127.0.0.1:1/glasses-ws"])
    assert code == 64
    assert "cloud_url" in capsys.readouterr().err


def test_toml_file_then_env_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "glasses.toml"
    path.write_text(
        'cloud_url = "ws://10.0.0.1:8002/glasses-ws"\n'
        "users = 40\nseed = 9\npolicy = \"custom\"\napps = [\"com.a.b\"]\n"
        "[rates]\nhead_position = 1.5\nvad = 0.2\n"
        "[custom]\nkind = \"fixed\"\nbase_s = 2.0\nmax_attempts = 5\n"
    )
    settings = load_fleet_settings(
        path, env={"WSQUAKE_GLASSES_USERS": "50"}, overrides={"seed": 10}
    )
    assert settings.cloud_url == "ws://10.0.0.1:8002/glasses-ws" and settings.apps == ("com.a.b",)
    assert settings.users == 50 and settings.seed == 10
    assert settings.rates.head_position == 1.5 and settings.rates.vad == 0.2
    policy = settings.reconnect_policy()
    assert policy.name == "custom" and policy.delay(0) == 2.0 and policy.delay(5) is None
