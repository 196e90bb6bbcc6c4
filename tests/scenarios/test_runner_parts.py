"""Pure parts of the runner: cloud config, probe summaries, readiness lines, run dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wsquake.cloud.settings import load_cloud_settings
from wsquake.scenarios.components import (
    AppRegistration,
    cloud_toml,
    parse_cloud_ready,
    parse_proxy_ready,
)
from wsquake.scenarios.fleets import AppsReady
from wsquake.scenarios.model import CloudSpec, FleetSpec, ProcessAction, ProcessStep, Scenario
from wsquake.scenarios.probes import summarize_metrics, summarize_sessions
from wsquake.scenarios.rundir import Journal, RunDir, new_run_id, write_json
from wsquake.scenarios.runner import RunSettings, ScenarioError, validate_for_run


def test_cloud_toml_carries_timings_time_scale_defects_and_apps(tmp_path: Path) -> None:
    scenario = Scenario(
        name="t", description="x", time_scale=0.1,
        cloud=CloudSpec(timings={"app_grace_s": 3, "ping_interval_s": 2.5},
                        defects=("no_pong_deadline",), profile="fixed"),
    )
    text = cloud_toml(scenario, jwt_secret="s3", app_ws_public_url="ws://127.0.0.1:5/app-ws",
                      apps=[AppRegistration("com.ex-ample.a", "http://127.0.0.1:6", "k\"ey")])
    path = tmp_path / "cloud.toml"
    path.write_text(text)
    settings = load_cloud_settings(path, env={})
    assert settings.timings.time_scale == 0.1
    assert settings.timings.app_grace_s == 3
    assert settings.timings.scaled("ping_interval_s") == pytest.approx(0.25)
    assert settings.defects.enabled("no_pong_deadline")
    assert not settings.defects.enabled("drop_during_grace")
    assert settings.app_ws_public_url == "ws://127.0.0.1:5/app-ws"
    assert settings.jwt_secret == "s3"
    (app,) = settings.apps
    assert (app.package_name, app.public_url, app.api_key) == (
        "com.ex-ample.a", "http://127.0.0.1:6", 'k"ey')
    assert settings.port == 0


def test_readiness_lines_of_cloud_and_proxy_give_their_urls() -> None:
    line = ("wsquake cloud listening on http://127.0.0.1:40123 (glasses ws://127.0.0.1:40123/"
            "glasses-ws, apps ws://127.0.0.1:40123/app-ws)")
    assert parse_cloud_ready(line) == "http://127.0.0.1:40123"
    assert parse_cloud_ready("INFO something else") is None
    assert parse_proxy_ready("http://127.0.0.1:8474") == "http://127.0.0.1:8474"
    assert parse_proxy_ready("wsquake proxy 0.1 (Toxiproxy API 2.12.0)") is None


def test_apps_are_ready_once_every_package_announced_its_url() -> None:
    ready = AppsReady(("com.a", "com.b"))
    assert ready("ready com.b http://127.0.0.1:7002/webhook") is None
    assert ready("some log line") is None
    assert ready("ready com.a http://127.0.0.1:7001/webhook") == (
        "http://127.0.0.1:7001", "http://127.0.0.1:7002")


def test_session_summary_counts_users_apps_loading_and_sockets() -> None:
    body = {
        "connections": {"glasses": 2, "app": 3, "app_unbound": 1},
        "users": [
            {"userId": "a", "apps": [{"state": "running"}, {"state": "loading"}]},
            {"userId": "b", "apps": [{"state": "running"}]},
        ],
    }
    assert summarize_sessions(body) == {
        "sessions": 2, "apps": 3, "loading": 1, "running": 2,
        "glasses_connections": 2, "app_connections": 3, "app_unbound": 1,
    }
    assert summarize_sessions({"unexpected": True})["sessions"] == 0


def test_metrics_summary_sums_labelled_families_and_skips_buckets() -> None:
    text = (
        "# TYPE wsquake_cloud_apps gauge\n"
        'wsquake_cloud_apps{state="running"} 3\n'
        'wsquake_cloud_apps{state="loading"} 1\n'
        "# TYPE wsquake_cloud_app_resurrections_total counter\n"
        "wsquake_cloud_app_resurrections_total 2\n"
        "# TYPE wsquake_cloud_webhook_latency_seconds histogram\n"
        'wsquake_cloud_webhook_latency_seconds_bucket{le="0.1"} 4\n'
        "wsquake_cloud_webhook_latency_seconds_count 4\n"
        "# TYPE other_metric gauge\nother_metric 9\n"
    )
    out = summarize_metrics(text)
    assert out["m_apps"] == 4
    assert out["m_app_resurrections_total"] == 2
    assert out["m_webhook_latency_seconds_count"] == 4
    assert not any("bucket" in k or "other" in k for k in out)


def test_a_cloud_process_step_is_rejected_with_cloud_url_naming_the_step() -> None:
    scenario = Scenario(name="t", description="x", fleet=FleetSpec(users=1), steps=(
        ProcessStep("cloud", ProcessAction.RESTART, at_s=1),))
    settings = RunSettings(cloud_url="http://127.0.0.1:1")
    with pytest.raises(ScenarioError, match=r"steps\[0\]\.target: cannot restart the cloud"):
        validate_for_run(scenario, settings)


def test_a_cloud_url_that_is_not_http_is_rejected() -> None:
    with pytest.raises(ScenarioError, match="--cloud-url: expected http://HOST:PORT"):
        RunSettings(cloud_url="ws://127.0.0.1:8002")


def test_scenario_dirs_of_a_repeated_scenario_get_numbered(tmp_path: Path) -> None:
    run = RunDir(tmp_path, new_run_id("smoke"))
    first, second = run.scenario_dir("baseline"), run.scenario_dir("baseline")
    assert (first.path.name, second.path.name) == ("baseline", "baseline-2")
    assert first.parts.is_dir() and first.logs.is_dir()


def test_journal_lines_are_json_with_time_elapsed_event_and_scenario(tmp_path: Path) -> None:
    ticks = iter([10.0, 12.5])
    journal = Journal(tmp_path / "j.jsonl", clock=lambda: next(ticks), clock_ns=lambda: 7)
    journal.scenario = "baseline"
    journal.write("fault_applied", fault="0-app-link-down", step=0)
    journal.close()
    (line,) = (tmp_path / "j.jsonl").read_text().splitlines()
    assert json.loads(line) == {"t": 7, "elapsed_s": 2.5, "event": "fault_applied",
                                "scenario": "baseline", "fault": "0-app-link-down", "step": 0}


def test_write_json_replaces_non_finite_floats_with_null(tmp_path: Path) -> None:
    write_json(tmp_path / "x.json", {"p95_s": float("nan"), "max_s": float("inf"), "ok": 1})
    assert json.loads((tmp_path / "x.json").read_text()) == {
        "p95_s": None, "max_s": None, "ok": 1}


def test_the_plain_live_view_prints_one_line_per_phase_or_fault_change() -> None:
    import io

    from wsquake.scenarios.live import LiveView, RunStatus

    out = io.StringIO()
    status = RunStatus(scenario="app-link-drop", index=1, total=2, started=100.0,
                       time_scale=0.1, planned_s=80)
    with LiveView(status, stream=out, clock=lambda: 101.0):
        status.phase = "faults"
        status.changed()
        status.glasses_connected = 4  # a probe: same phase and faults, no new line
        status.changed()
        status.active_faults = ["cut (app-link down)"]
        status.changed()
    status.phase = "recovery"
    status.changed()  # the view is closed: nothing more is printed
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("[1/2] app-link-drop faults t=10.0/80s (wall 1.0s)")
    assert "faults: cut (app-link down)" in lines[1] and "glasses=4" in lines[1]


def test_reconnects_are_counted_from_init_ok_with_a_later_connection_epoch(
    tmp_path: Path,
) -> None:
    from wsquake.scenarios.live import ReconnectCounter

    part = tmp_path / "glasses-0.jsonl"
    line = '{{"t":1,"component":"glasses-0","conn":{conn},"kind":"init","outcome":"ok"}}\n'
    part.write_text(line.format(conn=1) + line.format(conn=2))
    counter = ReconnectCounter(tmp_path)
    assert counter.update() == 1
    with part.open("a") as fh:
        fh.write(line.format(conn=3) + '{"t":2,"kind":"init","outcome":"ok","conn":4')
    assert counter.update() == 2  # the partial last line waits for its newline


def test_an_extension_toxic_is_refused_up_front_on_a_real_toxiproxy() -> None:
    from wsquake.faults.client import Latency, WsDrop
    from wsquake.scenarios.model import FaultStep, Link
    from wsquake.scenarios.runner import check_backend_support

    scenario = Scenario(name="t", description="x", steps=(
        FaultStep(Link.APP, Latency(5), at_s=0, duration_s=1),
        FaultStep(Link.APP, WsDrop(probability=0.5), at_s=2, duration_s=1),
    ))
    check_backend_support(scenario, embedded=True)
    with pytest.raises(ScenarioError, match=r"steps\[1\]\.toxic: 'x-ws-drop' needs the embedded"):
        check_backend_support(scenario, embedded=False)
