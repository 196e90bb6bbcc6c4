"""RunModel: summary.json and histories → DataFrames, with values exactly as recorded."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from wsquake.reports.exceptions import RunDirError
from wsquake.reports.model import (
    METRIC_COLUMNS,
    SCENARIO_COLUMNS,
    THRESHOLD_COLUMNS,
    format_value,
    load_run,
)

from .rundirs import APP, APP2, failing, passing, suite, write_run


def test_scenarios_frame_has_one_row_per_scenario_in_run_order(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    assert list(model.scenarios.columns) == list(SCENARIO_COLUMNS)
    assert model.scenario_names == ["app-link-drop", "cloud-kill", "cloud-blackhole",
                                    "flapping", "app-kill"]
    assert list(model.scenarios["verdict"]) == ["pass", "fail", "unknown", "unknown", "error"]


def test_run_verdict_and_interrupted_come_from_the_summary(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    assert model.verdict == "error"
    assert model.interrupted is True
    assert model.run_id == "20261127-010000-test-ab12"


def test_harness_error_is_kept_and_missing_errors_are_none(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    errors = dict(zip(model.scenarios["scenario"], model.scenarios["error"], strict=True))
    assert errors["app-kill"].startswith("ProcessStartError")
    assert errors["app-link-drop"] is None


def test_metrics_are_long_form_with_check_dot_metric_keys(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, [failing()]))
    assert list(model.metrics.columns) == list(METRIC_COLUMNS)
    assert model.metric("cloud-kill", "recovery.p95_s") == 2.5
    assert model.metric("cloud-kill", "delivery.lost_after_recovery") == 3


def test_null_metric_becomes_nan_and_shows_as_dash(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    value = model.metric("cloud-blackhole", "health.detect_p95_s")
    assert math.isnan(value)
    assert format_value(value) == "-"


def test_thresholds_frame_keeps_measured_expected_and_verdict(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, [failing()]))
    t = model.thresholds
    assert list(t.columns) == list(THRESHOLD_COLUMNS)
    row = t[t["expr"] == "recovery.never == 0"].iloc[0]
    assert (row["verdict"], row["measured"], row["expected"]) == ("fail", 1.0, 0.0)


def test_examples_frame_has_the_failing_client(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, [failing()]))
    assert list(model.examples["client_id"]) == [APP2]
    assert model.examples["events"].iloc[0] == 1


def test_scenario_folder_loads_only_that_scenario(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing(), failing()])
    model = load_run(root / "cloud-kill")
    assert model.scenario_names == ["cloud-kill"]
    assert model.verdict == "fail"
    assert model.path == root


def test_summary_file_path_loads_the_run(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing()])
    assert load_run(root / "summary.json").scenario_names == ["app-link-drop"]


def test_sessions_rank_the_never_reconnected_client_first(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, [failing()]))
    sessions = model.sessions("cloud-kill")
    worst = sessions.iloc[0]
    assert (worst["client_id"], worst["unrecovered"], worst["losses"]) == (APP2, 1, 1)
    second = sessions.iloc[1]
    assert second["client_id"] == APP
    assert second["longest_outage_s"] == pytest.approx(2.5)  # loss 10.5 → init ok 13.0


def test_sessions_outage_is_in_scenario_seconds(tmp_path: Path) -> None:
    scenario = failing()
    scenario["time_scale"] = 0.5
    model = load_run(write_run(tmp_path, [scenario]))
    row = model.sessions("cloud-kill").set_index("client_id").loc[APP]
    assert row["longest_outage_s"] == pytest.approx(5.0)


def test_scenario_without_history_has_no_frames_and_no_sessions(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    assert model.frames("app-kill") is None
    assert model.sessions("app-kill").empty


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run directory"):
        load_run(tmp_path / "nope")


def test_directory_without_summary_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    with pytest.raises(RunDirError, match="not a run directory"):
        load_run(tmp_path / "a" / "b")


def test_wrong_schema_is_refused_naming_the_field(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"schema": 2, "scenarios": []}))
    with pytest.raises(RunDirError, match="schema: expected 1, got 2"):
        load_run(tmp_path)


def test_scenario_without_name_is_refused_naming_its_index(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text(json.dumps({"schema": 1, "scenarios": [{}]}))
    with pytest.raises(RunDirError, match=r"scenarios\[0\]: missing 'name'"):
        load_run(tmp_path)


def test_invalid_json_summary_is_refused(tmp_path: Path) -> None:
    (tmp_path / "summary.json").write_text("{")
    with pytest.raises(RunDirError, match="not JSON"):
        load_run(tmp_path)


@pytest.mark.parametrize(("value", "text"), [
    (None, "-"), (math.nan, "-"), (0, "0"), (3.0, "3"), (1.86006, "1.86"), (0.0431, "0.043"),
    (-0.5, "-0.5"),
])
def test_format_value(value: float | None, text: str) -> None:
    assert format_value(value) == text


def test_history_with_a_truncated_last_line_still_loads(tmp_path: Path) -> None:
    root = write_run(tmp_path, [failing()])
    history = root / "cloud-kill" / "history.jsonl"
    whole = len(history.read_text().splitlines())
    with history.open("a") as fh:
        fh.write('{"t": 1, "component": "apps-0", "ki')
    frames = load_run(root).frames("cloud-kill")
    assert frames is not None and len(frames.events) == whole


def test_history_is_read_in_chunks_without_losing_events(tmp_path: Path) -> None:
    from wsquake.reports.model import _load_frames

    root = write_run(tmp_path, [failing()])
    history = root / "cloud-kill" / "history.jsonl"
    whole = _load_frames(history)
    chunked = _load_frames(history, chunk_bytes=500)
    assert whole is not None and chunked is not None
    assert len(chunked.events) == len(whole.events)
    assert chunked.events["t"].tolist() == whole.events["t"].tolist()
