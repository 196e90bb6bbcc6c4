"""``wsquake report`` / ``wsquake compare`` and the hook run/suite call (finish_run)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wsquake.cli import main
from wsquake.reports import ALL_FORMATS, ReportError, parse_formats, write_reports
from wsquake.reports.cli import EXIT_REGRESSION, finish_run
from wsquake.reports.compare import load_snapshot

from .rundirs import failing, passing, suite, write_run

REPORT_FILES = {"report.txt", "report.md", "junit.xml", "metrics.csv", "baseline.json"}
NO_HTML = [f for f in ALL_FORMATS if f != "html"]  # HTML is H14's, tested there; slow


def test_write_reports_writes_every_format_into_the_run_directory(tmp_path: Path) -> None:
    root = write_run(tmp_path, suite())
    written = write_reports(root)
    assert set(written) == set(ALL_FORMATS)
    assert REPORT_FILES <= {p.name for p in root.iterdir()}


def test_write_reports_on_a_scenario_folder_writes_into_that_folder(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing(), failing()])
    write_reports(root / "cloud-kill", ["terminal"])
    text = (root / "cloud-kill" / "report.txt").read_text()
    assert "cloud-kill" in text and "app-link-drop" not in text
    assert not (root / "report.txt").exists()


def test_step_summary_is_written_only_when_asked(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing()])
    target = tmp_path / "step.md"
    env = {"GITHUB_STEP_SUMMARY": str(target)}
    write_reports(root, ["markdown"], env=env)
    assert not target.exists()
    write_reports(root, ["markdown"], step_summary=True, env=env)
    assert target.read_text() == (root / "report.md").read_text()


@pytest.mark.parametrize(("text", "expected"), [
    ("terminal,junit", ("terminal", "junit")), ("all", ALL_FORMATS),
    ("csv, csv", ("csv",)),
])
def test_parse_formats(text: str, expected: tuple[str, ...]) -> None:
    assert parse_formats(text) == expected


def test_unknown_format_is_named() -> None:
    with pytest.raises(ReportError, match="unknown format\\(s\\) 'pdf'"):
        parse_formats("terminal,pdf")


def test_report_command_prints_and_writes(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = write_run(tmp_path, suite())
    out = tmp_path / "out"
    assert main(["report", str(root), "--format", "terminal,junit", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"report.txt", "junit.xml"}
    assert "cloud-kill" in capsys.readouterr().out


def test_report_command_on_a_missing_directory_exits_64(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 64
    assert "no such run directory" in capsys.readouterr().err


def test_report_command_with_a_bad_format_exits_64(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_run(tmp_path, [passing()])
    assert main(["report", str(root), "--format", "pdf"]) == 64
    assert "'pdf'" in capsys.readouterr().err


def test_compare_command_exits_3_on_regression_and_writes_both_files(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_run(tmp_path / "a", [passing("s")], run_id="base")
    new = write_run(tmp_path / "b", [failing("s")], run_id="new")
    assert main(["compare", str(base), str(new)]) == EXIT_REGRESSION
    data = json.loads((new / "comparison.json").read_text())
    assert data["regressed"] is True
    assert "recovery.never" in (new / "comparison.md").read_text()
    assert "REGRESSION" in capsys.readouterr().out


def test_compare_command_exits_0_for_the_same_run(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing()])
    assert main(["compare", str(root), str(root), "--out", str(tmp_path / "cmp")]) == 0
    assert json.loads((tmp_path / "cmp" / "comparison.json").read_text())["regressed"] is False


def test_compare_command_reads_a_baseline_file(tmp_path: Path) -> None:
    base = write_run(tmp_path / "a", [passing("s")], run_id="base")
    write_reports(base, ["json"])
    new = write_run(tmp_path / "b", [failing("s")], run_id="new")
    assert main(["compare", str(new), "--baseline", str(base / "baseline.json")]) == 3


@pytest.mark.parametrize("argv", [["compare", "one"], ["compare", "a", "b", "--baseline", "c"]])
def test_compare_command_with_wrong_operands_exits_64(argv: list[str]) -> None:
    assert main(argv) == 64


def test_compare_command_with_a_bad_rules_file_exits_64(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_run(tmp_path, [passing()])
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nmetric = "x"\nworse = "sideways"\n')
    assert main(["compare", str(root), str(root), "--rules", str(rules)]) == 64
    assert "worse" in capsys.readouterr().err


def test_finish_run_writes_reports_and_keeps_the_exit_code(tmp_path: Path) -> None:
    root = write_run(tmp_path, [failing()])
    out = io.StringIO()
    assert finish_run(root, 1, formats=NO_HTML, out=out) == 1
    assert REPORT_FILES <= {p.name for p in root.iterdir()}
    assert out.getvalue().startswith("reports: report.txt, report.md, junit.xml")


@pytest.mark.parametrize(("code", "expected"), [(0, 3), (2, 3), (1, 1), (70, 70), (130, 130)])
def test_finish_run_regression_exit_code(tmp_path: Path, code: int, expected: int) -> None:
    base = load_snapshot(write_run(tmp_path / "a", [passing("s")], run_id="base"))
    root = write_run(tmp_path / "b", [failing("s")], run_id="new")
    assert finish_run(root, code, baseline=base, formats=NO_HTML) == expected
    assert (root / "comparison.json").exists()


def test_finish_run_without_regression_keeps_0(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing()])
    assert finish_run(root, 0, baseline=load_snapshot(root), formats=NO_HTML) == 0


def test_finish_run_turns_a_report_failure_into_70(tmp_path: Path) -> None:
    root = write_run(tmp_path, [passing()])
    (root / "report.txt").mkdir()  # os.replace onto a directory fails
    assert finish_run(root, 0, formats=NO_HTML) == 70


def test_run_with_a_bad_baseline_exits_64_before_starting(tmp_path: Path) -> None:
    bad = tmp_path / "baseline.json"
    bad.write_text("{}")
    assert main(["run", "baseline", "--out", str(tmp_path / "runs"),
                 "--baseline", str(bad)]) == 64
    assert not (tmp_path / "runs").exists()


@pytest.mark.timeout(120)
def test_wsquake_run_writes_every_report_and_exits_3_on_a_regression(tmp_path: Path) -> None:
    """A real (short) run against a baseline that claims a better start success rate."""
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"schema": "wsquake-baseline/1", "run_id": "claimed",
                                    "scenarios": {"baseline": {"verdict": "pass", "metrics": {
                                        "lifecycle.start_success_rate": 2.0}}}}))
    runs = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "wsquake", "run", "baseline", "--time-scale", "0.05",
         "--users", "1", "--out", str(runs), "--no-live", "--baseline", str(baseline)],
        capture_output=True, text=True, timeout=110,
        env={**os.environ, "GITHUB_STEP_SUMMARY": ""}, check=False)
    (run_dir,) = runs.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] == "pass", proc.stderr[-2000:]
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert REPORT_FILES | {"comparison.json", "comparison.md"} <= {
        p.name for p in run_dir.iterdir()}
