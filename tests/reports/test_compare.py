"""Comparison: real regressions are flagged, noise-level changes are not."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from wsquake.reports.compare import (
    DEFAULT_RULES,
    Rule,
    Snapshot,
    Worse,
    compare,
    format_comparison,
    format_comparison_markdown,
    load_rules,
    load_snapshot,
)
from wsquake.reports.exceptions import BaselineError
from wsquake.reports.exports import write_baseline
from wsquake.reports.model import load_run

from .rundirs import failing, passing, write_run


def snap(metrics: dict[str, float | None], verdict: str = "pass", name: str = "s",
         label: str = "run") -> Snapshot:
    rows = [{"scenario": name, "key": k, "value": math.nan if v is None else float(v)}
            for k, v in metrics.items()]
    return Snapshot(label, {name: verdict}, pd.DataFrame(rows, columns=["scenario", "key",
                                                                         "value"]))


def status(base: dict[str, float | None], new: dict[str, float | None], key: str) -> str:
    result = compare(snap(base, label="base"), snap(new, label="new"))
    return str(result.metrics.set_index("key").loc[key, "status"])


@pytest.mark.parametrize(("key", "base", "new"), [
    ("recovery.p95_s", 1.875, 3.0),           # +60 % and +1.1 s
    ("recovery.app_p95_s", 2.0, 2.6),          # +30 % and +0.6 s
    ("health.detect_max_s", 10.0, 13.0),
    ("delivery.lost_after_recovery", 0, 1),    # any new loss after recovery
    ("recovery.never", 0, 1),
    ("recovery.rate", 1.0, 0.5),
    ("subscriptions.restored_rate", 1.0, 0.98),
    ("leaks.zombie_sessions", 0, 1),
    ("leaks.connection_growth", 0, 2),
    ("lifecycle.duplicate_sessions", 0, 1),
])
def test_regression_is_flagged(key: str, base: float, new: float) -> None:
    assert status({key: base}, {key: new}, key) == "regression"


@pytest.mark.parametrize(("key", "base", "new"), [
    ("recovery.p95_s", 1.875, 2.1),            # +12 %: under 20 %
    ("recovery.p95_s", 0.2, 0.6),              # +200 % but only +0.4 s: under 0.5 s
    ("recovery.p99_s", 4.0, 4.45),
    ("recovery.rate", 1.0, 0.995),             # half a point: noise
    ("leaks.connection_growth", 0, 1),
    ("delivery.duplicated", 10, 11),
    ("lifecycle.resurrections", 4, 5),
])
def test_noise_level_change_is_not_flagged(key: str, base: float, new: float) -> None:
    assert status({key: base}, {key: new}, key) == "same"


def test_better_beyond_the_band_is_improved() -> None:
    assert status({"recovery.p95_s": 3.0}, {"recovery.p95_s": 1.0}, "recovery.p95_s") \
        == "improved"


def test_wall_band_absorbs_scheduling_jitter_at_a_small_time_scale() -> None:
    """+0.8 scenario s at time scale 0.1 is 80 ms of wall time: noise, not a regression."""
    base = snap({"recovery.p95_s": 1.06})
    new = snap({"recovery.p95_s": 1.86})
    scaled = {"s": 0.1}
    at_01 = compare(Snapshot(base.label, base.verdicts, base.metrics, scaled),
                    Snapshot(new.label, new.verdicts, new.metrics, scaled))
    assert at_01.metrics.iloc[0]["status"] == "same"
    assert compare(base, new).metrics.iloc[0]["status"] == "regression"  # at time scale 1


def test_wall_band_uses_the_smaller_time_scale_of_the_two_runs() -> None:
    base = snap({"recovery.p95_s": 1.0})
    new = snap({"recovery.p95_s": 2.2})
    result = compare(Snapshot(base.label, base.verdicts, base.metrics, {"s": 0.1}),
                     Snapshot(new.label, new.verdicts, new.metrics, {"s": 1.0}))
    assert result.metrics.iloc[0]["status"] == "same"  # band 0.15 / 0.1 = 1.5 s


def test_metric_without_a_rule_is_informational() -> None:
    result = compare(snap({"delivery.lost_fault": 2}), snap({"delivery.lost_fault": 50}))
    row = result.metrics.iloc[0]
    assert (row["status"], row["rule"]) == ("changed", "info")
    assert not result.regressed


def test_lost_evidence_is_not_a_regression_by_itself() -> None:
    assert status({"recovery.p95_s": 1.0}, {"recovery.p95_s": None}, "recovery.p95_s") \
        == "no evidence"


def test_delta_and_relative_change_are_computed() -> None:
    result = compare(snap({"recovery.p95_s": 2.0}), snap({"recovery.p95_s": 3.0}))
    row = result.metrics.iloc[0]
    assert (row["base"], row["new"], row["delta"], row["rel"]) == (2.0, 3.0, 1.0, 0.5)


@pytest.mark.parametrize(("base", "new", "expected"), [
    ("pass", "fail", "regression"), ("pass", "unknown", "regression"),
    ("fail", "error", "regression"), ("fail", "pass", "improved"), ("unknown", "unknown", "same"),
])
def test_verdict_change(base: str, new: str, expected: str) -> None:
    result = compare(snap({}, base), snap({}, new))
    assert result.verdicts.iloc[0]["status"] == expected
    assert result.regressed is (expected == "regression")


def test_unpaired_scenarios_are_missing_or_new_not_regressions() -> None:
    result = compare(snap({"recovery.p95_s": 1.0}, name="old"),
                     snap({"recovery.p95_s": 9.0}, name="added"))
    assert dict(zip(result.verdicts["scenario"], result.verdicts["status"], strict=True)) == {
        "old": "missing", "added": "new"}
    assert result.metrics.empty and not result.regressed


def test_runs_compared_end_to_end_flag_the_failing_run(tmp_path: Path) -> None:
    base = write_run(tmp_path / "a", [passing("s1")], run_id="base")
    worse = failing("s1")
    new = write_run(tmp_path / "b", [worse], run_id="new")
    result = compare(load_snapshot(base), load_snapshot(new))
    flagged = set(result.regressions["key"])
    assert {"recovery.rate", "recovery.never", "delivery.lost_after_recovery",
            "recovery.p95_s"} <= flagged
    assert result.worse_verdicts["scenario"].tolist() == ["s1"]


def test_same_run_has_no_regression(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing(), failing()])
    result = compare(load_snapshot(root), load_snapshot(root))
    assert not result.regressed
    assert set(result.metrics["status"]) == {"same"}


def test_baseline_file_round_trips(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing(), failing()])
    model = load_run(root)
    path = write_baseline(model, tmp_path / "baseline.json")
    from_file, from_run = load_snapshot(path), load_snapshot(root)
    assert from_file.verdicts == from_run.verdicts
    pd.testing.assert_frame_equal(from_file.metrics, from_run.metrics)


def test_baseline_file_keeps_the_time_scale(tmp_path: Path) -> None:
    scenario = passing()
    scenario["time_scale"] = 0.1
    model = load_run(write_run(tmp_path, [scenario]))
    snapshot = load_snapshot(write_baseline(model, tmp_path / "baseline.json"))
    assert snapshot.time_scales == {"app-link-drop": 0.1}


def test_baseline_with_a_bad_time_scale_names_it(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema": "wsquake-baseline/1", "scenarios": {
        "s": {"verdict": "pass", "time_scale": 0, "metrics": {}}}}))
    with pytest.raises(BaselineError, match=r"scenarios.s.time_scale: expected a number > 0"):
        load_snapshot(path)


def test_summary_json_works_as_a_baseline(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing()])
    assert load_snapshot(root / "summary.json").verdicts == {"app-link-drop": "pass"}


def test_baseline_with_unknown_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(BaselineError, match="schema: expected 'wsquake-baseline/1'"):
        load_snapshot(path)


def test_baseline_with_a_non_numeric_metric_names_it(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema": "wsquake-baseline/1", "scenarios": {
        "s": {"verdict": "pass", "metrics": {"recovery.p95_s": "fast"}}}}))
    with pytest.raises(BaselineError, match=r"scenarios.s.metrics.recovery.p95_s"):
        load_snapshot(path)


def test_missing_baseline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="no such run directory"):
        load_snapshot(tmp_path / "nope")


def test_rules_file_goes_before_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nmetric = "recovery.p95_s"\nworse = "higher"\nrel = 0.05\n'
                    'abs = 0.1\n')
    rules = load_rules(path)
    assert rules[0] == Rule("recovery.p95_s", Worse.HIGHER, 0.05, 0.1)
    assert rules[1:] == list(DEFAULT_RULES)
    result = compare(snap({"recovery.p95_s": 1.875}), snap({"recovery.p95_s": 2.1}), rules)
    assert result.regressed  # noise under the defaults, a regression under the strict rule


def test_rules_file_can_replace_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"replace": True, "rule": [{"metric": "*", "worse": "none"}]}))
    assert load_rules(path) == [Rule("*", Worse.NONE)]


@pytest.mark.parametrize(("body", "message"), [
    ('[[rule]]\nworse = "higher"\n', r"rule\[0\].metric"),
    ('[[rule]]\nmetric = "x"\nworse = "up"\n', r"rule\[0\].worse: expected higher, lower or"),
    ('[[rule]]\nmetric = "x"\nrel = -1\n', r"rel: must be a number >= 0"),
    ('[[rule]]\nmetric = "x"\nwall = "slow"\n', r"wall: must be a number >= 0"),
    ('[[rule]]\nmetric = "x"\nbogus = 1\n', r"unknown key\(s\) bogus"),
    ('rule = 3\n', r"rule: expected a list"),
    ('[[rule\n', r"not valid"),
])
def test_bad_rules_file_names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(body)
    with pytest.raises(BaselineError, match=message):
        load_rules(path)


def test_comparison_json_has_no_nan(tmp_path: Path) -> None:
    result = compare(snap({"recovery.p95_s": None, "recovery.p99_s": 1.0}),
                     snap({"recovery.p95_s": 1.0, "recovery.p99_s": None}))
    text = json.dumps(result.to_json(), allow_nan=False)
    assert '"status": "new"' in text and '"status": "no evidence"' in text


def test_renderings_show_the_regressed_metric() -> None:
    result = compare(snap({"recovery.p95_s": 1.0}, label="a"),
                     snap({"recovery.p95_s": 3.0}, label="b"))
    md = format_comparison_markdown(result)
    assert md.splitlines()[0] == "## wsquake compare `a` → `b`: ❌ regression"
    assert ("| s | `recovery.p95_s` | 1 | 3 | 2 (+200%) | up >20% & >0.5 & >0.15s wall "
            "| regression |") in md
    text = format_comparison(result)
    assert "REGRESSION" in text and "recovery.p95_s" in text and "\x1b[" not in text
