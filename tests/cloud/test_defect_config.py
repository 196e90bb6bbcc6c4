"""Turning the known upstream defects on (PROTOCOL.md §12): ``wsquake cloud --defects`` /
``--defect-profile``, TOML ``[defects]``, the timing settings that imply D3/D4/D5, and the
``defects`` list ``/api/sessions`` reports. The default cloud runs none of them."""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx
import pytest

from wsquake.cloud import cli
from wsquake.cloud.defects import DEFECT_IDS, active_defects, parse_defect_names
from wsquake.cloud.server import CloudServer
from wsquake.cloud.settings import DEFECT_NAMES, CloudSettings, Timings, load_cloud_settings
from wsquake.config import ConfigError


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["cloud", *argv])


def test_defect_ids_follow_the_spec_order() -> None:
    assert DEFECT_IDS["split_session_id"] == "D1"
    assert DEFECT_IDS["stale_close_unchecked"] == "D2"
    assert DEFECT_IDS["loading_apps_as_object"] == "D11"
    assert DEFECT_IDS["dispose_without_stop_webhook"] == "D13"
    assert list(DEFECT_IDS) == list(DEFECT_NAMES) and len(DEFECT_IDS) == 13


def test_default_settings_run_no_defect() -> None:
    assert active_defects(CloudSettings()) == ()


def test_zero_timings_imply_d3_d4_d5() -> None:
    timings = Timings(pong_deadline_s=0, stop_webhook_timeout_s=0, grace_buffer_messages=0)
    assert active_defects(CloudSettings(timings=timings)) == (
        "no_pong_deadline", "stop_webhook_unbounded", "drop_during_grace"
    )


def test_defects_flag_takes_names_and_ids_comma_separated_and_repeated() -> None:
    settings = cli.build_settings(
        parse("--defects", "split_session_id,D3", "--defects", "d13", "--port", "0")
    )
    assert active_defects(settings) == (
        "split_session_id", "no_pong_deadline", "dispose_without_stop_webhook"
    )
    assert settings.defects.profile == "fixed"


def test_upstream_profile_flag_turns_every_defect_on() -> None:
    settings = cli.build_settings(parse("--defect-profile", "upstream"))
    assert active_defects(settings) == DEFECT_NAMES


def test_unknown_defect_names_exit_64_naming_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(parse("--defects", "split_session_id,no_such_bug", "--defects", "D14")) == 64
    err = capsys.readouterr().err
    assert "unknown defect 'no_such_bug', 'D14'" in err
    assert "split_session_id" in err  # the known names are listed


def test_bad_defect_profile_exits_64_naming_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(parse("--defect-profile", "buggy")) == 64
    assert 'defects.profile: expected one of fixed | upstream, got "buggy"' in (
        capsys.readouterr().err
    )


def test_parse_defect_names_ignores_blanks_and_duplicates() -> None:
    assert parse_defect_names([" D1 , ,split_session_id", ""]) == ("split_session_id",)
    with pytest.raises(ConfigError, match="unknown defect 'x'"):
        parse_defect_names(["x"])


def test_toml_upstream_profile_with_one_switch_explicitly_off(tmp_path: Path) -> None:
    path = tmp_path / "cloud.toml"
    path.write_text('[defects]\nprofile = "upstream"\nno_pong_deadline = false\n')
    settings = load_cloud_settings(path, env={})
    active = active_defects(settings)
    assert "no_pong_deadline" not in active
    assert len(active) == len(DEFECT_NAMES) - 1


def test_env_turns_one_defect_on() -> None:
    settings = load_cloud_settings(None, env={"WSQUAKE_DEFECTS_DROP_DURING_GRACE": "true"})
    assert active_defects(settings) == ("drop_during_grace",)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((), []),
        (("--defects", "D6,D8"), ["duplicate_app_sockets", "keep_old_glasses_socket"]),
    ],
    ids=["default", "D6,D8"],
)
async def test_api_sessions_reports_the_defects_in_effect(
    argv: tuple[str, ...], expected: list[str]
) -> None:
    settings = cli.build_settings(parse("--port", "0", *argv))
    async with CloudServer(settings) as cloud, httpx.AsyncClient(trust_env=False) as client:
        body = (await client.get(cloud.url + "/api/sessions", timeout=10)).json()
    assert body["defects"] == expected
    assert body["profile"] == "fixed"
    assert body["leakedSubscriptions"] == []


async def test_metrics_mark_each_defect_in_effect_with_its_id() -> None:
    settings = cli.build_settings(parse("--port", "0", "--defects", "D11"))
    async with CloudServer(settings) as cloud, httpx.AsyncClient(trust_env=False) as client:
        text = (await client.get(cloud.url + "/metrics", timeout=10)).text
    lines = [line for line in text.splitlines() if line.startswith("wsquake_cloud_defect_")]
    assert lines == [
        'wsquake_cloud_defect_enabled{id="D11",name="loading_apps_as_object"} 1.0'
    ]
    assert "wsquake_cloud_leaked_subscriptions 0.0" in text
