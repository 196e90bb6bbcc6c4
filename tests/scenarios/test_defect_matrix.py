"""The known-defect matrix: the table is complete and real, and its result logic (caught,
missed, clean runs, exit code, renderings) is right on synthetic run outcomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wsquake.cloud.settings import DEFECT_NAMES
from wsquake.scenarios import catalog_names, load_scenario
from wsquake.scenarios.defect_matrix import (
    DEFECT_MATRIX,
    CellOutcome,
    DefectRow,
    MatrixResult,
    evaluate,
    format_markdown,
    plan,
    planned_runs,
)
from wsquake.scenarios.defect_suite import MATRIX_JSON, MATRIX_MD, MATRIX_TXT, write_matrix
from wsquake.scenarios.exceptions import ScenarioError
from wsquake.scenarios.specs import SDK_DEFECT_NAMES

from .test_catalog import KEYS

# --- the table ---------------------------------------------------------------------------------


def test_every_defect_d1_to_d14_has_exactly_one_row_in_order() -> None:
    assert [row.id for row in DEFECT_MATRIX] == [f"D{i}" for i in range(1, 15)]


def test_every_switch_of_protocol_section_12_is_exercised_by_some_row() -> None:
    used = {switch for row in DEFECT_MATRIX for switch in row.switches}
    assert used == set(DEFECT_NAMES) | set(SDK_DEFECT_NAMES)


def test_cloud_switch_rows_follow_the_cloud_switch_numbering() -> None:
    for i, name in enumerate(DEFECT_NAMES, start=1):
        assert name in DEFECT_MATRIX[i - 1].switches, (i, name)


@pytest.mark.parametrize("row", DEFECT_MATRIX, ids=lambda r: r.id)
def test_each_row_names_catalog_scenarios_that_gate_on_its_expected_metric(
    row: DefectRow,
) -> None:
    check, metric = row.expect.split(".", 1)
    assert metric in KEYS[check], f"{row.expect}: the {check} checker reports no {metric}"
    for name in row.scenarios:
        assert name in catalog_names()
        scenario = load_scenario(name)
        spec = scenario.check(check)
        assert spec is not None, f"{name} does not run the {check} check"
        assert any(f"{t.check}.{t.key}" == row.expect for t in spec.thresholds), (
            f"{name}: no threshold on {row.expect}, so {row.id} cannot fail it")
        assert scenario.wall_s(scenario.duration_s()) < 20


def test_a_row_with_an_unknown_switch_or_check_is_refused_with_its_id() -> None:
    with pytest.raises(ScenarioError, match="D99: unknown switch 'nope'"):
        DefectRow("D99", ("nope",), ("baseline",), "lifecycle.starts", "x")
    with pytest.raises(ScenarioError, match="D99: expect 'speed.x' names no check"):
        DefectRow("D99", ("split_session_id",), ("baseline",), "speed.x", "x")


# --- the plan ----------------------------------------------------------------------------------


def test_plan_runs_each_pair_with_its_switches_then_each_scenario_once_clean() -> None:
    runs, scenarios = plan()
    pairs = [r for r in runs if r.defect != "clean"]
    clean = [r for r in runs if r.defect == "clean"]
    assert len(pairs) == sum(len(row.scenarios) for row in DEFECT_MATRIX)
    assert len({r.scenario for r in clean}) == len(clean)
    assert {r.scenario for r in clean} == {r.scenario for r in pairs}
    by_name = {s.name: s for s in scenarios}
    assert len(by_name) == len(runs)
    d6 = by_name["d6-app-link-partition-race"]
    assert d6.cloud.defects == ("duplicate_app_sockets", "sdk.legacy_session_map")
    assert d6.cloud.profile == "fixed"
    assert by_name["clean-app-link-partition-race"].cloud.defects == ()


def test_plan_narrows_to_the_given_ids_and_refuses_an_unknown_one() -> None:
    runs, scenarios = plan(defects=["d11", "D1"], time_scale=0.05, seed=3)
    assert [r.run_name for r in runs] == [
        "d1-hyphenated-users", "d11-baseline", "clean-hyphenated-users", "clean-baseline"]
    assert {s.time_scale for s in scenarios} == {0.05}
    assert {s.fleet.seed for s in scenarios} == {3}
    with pytest.raises(ScenarioError, match="unknown defect 'D15'"):
        plan(defects=["D15"])


# --- evaluating outcomes -----------------------------------------------------------------------


def check(name: str, verdict: str, summary: str = "", *, expr: str | None = None,
          measured: Any = None, detail: str | None = None) -> dict[str, Any]:
    thresholds = [] if expr is None else [
        {"expr": expr, "verdict": verdict, "measured": measured}]
    examples = [] if detail is None else [{"detail": detail}]
    return {"name": name, "verdict": verdict, "summary": summary, "thresholds": thresholds,
            "examples": examples}


ROW = DefectRow("D1", ("split_session_id",), ("hyphenated-users",),
                "lifecycle.init_failed_sessions", "never connected")
RUNS = planned_runs([ROW])


def outcome(verdict: str, *checks: dict[str, Any], error: str | None = None) -> dict[str, Any]:
    return {"verdict": verdict, "checks": list(checks), "error": error, "duration_s": 7.5}


def test_a_pair_whose_expected_check_fails_is_caught_with_the_symptom_as_evidence() -> None:
    cells = evaluate(RUNS, {
        "d1-hyphenated-users": outcome("fail", check(
            "lifecycle", "fail", "2 app init(s) refused (SESSION_NOT_FOUND ×2)",
            expr="lifecycle.init_failed_sessions == 0", measured=2,
            detail="app session for a-b@c.io never connected: SESSION_NOT_FOUND")),
        "clean-hyphenated-users": outcome("pass", check("lifecycle", "pass")),
    }, [ROW])
    assert [c.outcome for c in cells] == [CellOutcome.CAUGHT, CellOutcome.CLEAN_PASS]
    assert "never connected: SESSION_NOT_FOUND" in cells[0].evidence
    assert "lifecycle.init_failed_sessions == 0 (measured 2)" in cells[0].evidence
    result = MatrixResult(tuple(cells))
    assert result.ok and result.exit_code() == 0


def test_a_pair_failing_only_another_check_is_missed() -> None:
    cells = evaluate(RUNS, {
        "d1-hyphenated-users": outcome("fail", check("recovery", "fail", "1 never"),
                                       check("lifecycle", "pass")),
        "clean-hyphenated-users": outcome("pass"),
    }, [ROW])
    assert cells[0].outcome is CellOutcome.MISSED
    assert "recovery: 1 never" in cells[0].evidence
    assert MatrixResult(tuple(cells)).exit_code() == 1


def test_a_passing_pair_is_missed_and_a_failing_clean_run_is_clean_fail() -> None:
    cells = evaluate(RUNS, {
        "d1-hyphenated-users": outcome("pass", check("lifecycle", "pass")),
        "clean-hyphenated-users": outcome("fail", check("leaks", "fail", "1 zombie")),
    }, [ROW])
    assert [c.outcome for c in cells] == [CellOutcome.MISSED, CellOutcome.CLEAN_FAIL]
    assert "lifecycle did not fail" in cells[0].evidence
    assert "leaks: 1 zombie" in cells[1].evidence
    result = MatrixResult(tuple(cells))
    assert result.counts()["missed"] == 1 and result.counts()["clean-fail"] == 1
    assert result.exit_code() == 1


def test_a_harness_error_or_a_run_that_never_happened_is_an_error_not_a_catch() -> None:
    cells = evaluate(RUNS, {
        "d1-hyphenated-users": outcome("error", error="cloud did not start"),
    }, [ROW])
    assert [c.outcome for c in cells] == [CellOutcome.ERROR, CellOutcome.ERROR]
    assert cells[0].evidence == "cloud did not start"
    assert cells[1].evidence == "not run"
    assert MatrixResult(tuple(cells)).exit_code() == 1


def test_an_empty_matrix_is_not_ok() -> None:
    assert MatrixResult(()).exit_code() == 1


def test_the_matrix_is_written_as_json_markdown_and_text(tmp_path: Path) -> None:
    cells = evaluate(RUNS, {
        "d1-hyphenated-users": outcome("fail", check("lifecycle", "fail", "refused")),
        "clean-hyphenated-users": outcome("pass"),
    }, [ROW])
    result = MatrixResult(tuple(cells), wall_s=12.0, run_dir=str(tmp_path))
    write_matrix(result, tmp_path, [ROW])
    data = json.loads((tmp_path / MATRIX_JSON).read_text())
    assert data["ok"] is True and data["exit_code"] == 0
    assert data["defects"][0]["id"] == "D1"
    assert data["defects"][0]["cells"][0]["outcome"] == "caught"
    assert data["clean"][0]["outcome"] == "clean-pass"
    md = (tmp_path / MATRIX_MD).read_text()
    assert md == format_markdown(result, [ROW])
    assert "| D1 | `split_session_id` | hyphenated-users | **caught** |" in md
    assert "| hyphenated-users | **clean-pass** |" in md
    txt = (tmp_path / MATRIX_TXT).read_text()
    assert "caught" in txt and "clean-pass" in txt and "\x1b[" not in txt


def test_a_scenarios_own_switches_stay_on_in_its_clean_run_and_its_pairs() -> None:
    _, scenarios = plan(defects=["D3"])
    by_name = {s.name: s for s in scenarios}
    assert by_name["clean-app-link-blackhole"].cloud.defects == ("sdk.hung_attempt_stalls",)
    assert by_name["d3-app-link-blackhole"].cloud.defects == (
        "sdk.hung_attempt_stalls", "no_pong_deadline")


# --- the command line (refusals happen before anything starts) ---------------------------------


def test_suite_defects_refuses_an_unknown_defect_id_with_exit_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wsquake.cli import main

    assert main(["suite", "defects", "--only", "D1,D42", "--out", str(tmp_path)]) == 64
    assert "unknown defect 'D42'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_suite_defects_refuses_a_foreign_cloud_with_exit_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wsquake.cli import main

    code = main(["suite", "defects", "--cloud-url", "http://127.0.0.1:9", "--out", str(tmp_path)])
    assert code == 64
    assert "--cloud-url cannot be used" in capsys.readouterr().err
