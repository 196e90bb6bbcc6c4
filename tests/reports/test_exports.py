"""CSV (and optional Parquet) tables and baseline.json hold the frames' values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from wsquake.reports.exports import BASELINE_SCHEMA, baseline_json, has_parquet, write_tables
from wsquake.reports.model import load_run

from .rundirs import RUN_ID, failing, suite, write_run


def test_metrics_csv_round_trips_the_long_form_frame(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    write_tables(model, tmp_path / "out", parquet=False)
    back = pd.read_csv(tmp_path / "out" / "metrics.csv")
    assert list(back.columns) == ["run_id", "scenario", "check", "metric", "key", "value"]
    assert set(back["run_id"]) == {RUN_ID}
    pd.testing.assert_series_equal(back["value"], model.metrics["value"].reset_index(drop=True),
                                   check_names=False)


def test_missing_metric_is_an_empty_csv_cell(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    write_tables(model, tmp_path, parquet=False)
    line = next(line for line in (tmp_path / "metrics.csv").read_text().splitlines()
                if ",health.detect_p95_s," in line)
    assert line.endswith(",")


def test_every_table_is_written(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    paths = write_tables(model, tmp_path / "out", parquet=False)
    assert [p.name for p in paths] == ["metrics.csv", "thresholds.csv", "scenarios.csv",
                                       "checks.csv"]
    thresholds = pd.read_csv(tmp_path / "out" / "thresholds.csv")
    assert len(thresholds) == len(model.thresholds)


def test_parquet_is_written_only_when_pyarrow_is_importable(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, [failing()]))
    names = {p.name for p in write_tables(model, tmp_path / "out")}
    assert ("metrics.parquet" in names) is has_parquet()


def test_baseline_json_has_verdicts_and_null_for_missing_metrics(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    data = json.loads(json.dumps(baseline_json(model), allow_nan=False))
    assert data["schema"] == BASELINE_SCHEMA and data["run_id"] == RUN_ID
    assert data["scenarios"]["cloud-kill"]["verdict"] == "fail"
    assert data["scenarios"]["cloud-kill"]["metrics"]["recovery.p95_s"] == 2.5
    assert data["scenarios"]["cloud-blackhole"]["metrics"]["health.detect_p95_s"] is None
    assert not any(isinstance(v, float) and math.isnan(v)
                   for s in data["scenarios"].values() for v in s["metrics"].values())
