"""The SDK-side switches of PROTOCOL.md §12 reach the app fleet: a scenario's
``sdk.legacy_session_map`` runs the mid-2025 SDK profile, ``sdk.hung_attempt_stalls``
turns the D14 stall on, and without them the fleet runs the fixed SDK."""

from __future__ import annotations

import argparse
from pathlib import Path

from wsquake.scenarios import CloudSpec, Scenario
from wsquake.scenarios.fleets import apps_argv
from wsquake.simulators.app_cli import add_apps_parser, build_fleet_settings


def argv(cloud: CloudSpec) -> list[str]:
    return apps_argv(Scenario("t", "test", cloud=cloud), history=Path("h.jsonl"))


def value_after(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_no_sdk_switch_runs_the_fixed_sdk() -> None:
    args = argv(CloudSpec())
    assert value_after(args, "--profile") == "sdk_2_1"
    assert "--no-hung-attempt-stalls" in args and "--hung-attempt-stalls" not in args


def test_legacy_session_map_runs_the_mid_2025_sdk_profile() -> None:
    args = argv(CloudSpec(defects=("sdk.legacy_session_map",)))
    assert value_after(args, "--profile") == "sdk_2_0"
    assert "--no-hung-attempt-stalls" in args


def test_hung_attempt_stalls_turns_the_d14_stall_on() -> None:
    args = argv(CloudSpec(defects=("sdk.hung_attempt_stalls",)))
    assert "--hung-attempt-stalls" in args and "--no-hung-attempt-stalls" not in args
    assert value_after(args, "--profile") == "sdk_2_1"


def test_the_upstream_profile_turns_both_sdk_switches_on() -> None:
    args = argv(CloudSpec(profile="upstream"))
    assert value_after(args, "--profile") == "sdk_2_0"
    assert "--hung-attempt-stalls" in args


def _settings(*flags: str):
    parser = argparse.ArgumentParser()
    add_apps_parser(parser.add_subparsers())
    args = parser.parse_args(["apps", "--packages", "com.a", "--api-key", "k", *flags])
    return build_fleet_settings(args, env={})


def test_the_apps_cli_flag_reaches_every_app_server() -> None:
    assert _settings("--no-hung-attempt-stalls").server_settings(0).hung_attempt_stalls is False
    assert _settings("--hung-attempt-stalls").server_settings(0).hung_attempt_stalls is True
    assert _settings().server_settings(0).hung_attempt_stalls is True  # the simulator's default
