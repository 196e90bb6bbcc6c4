"""The Markdown summary: verdicts and values from the frames; $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from pathlib import Path

from wsquake.reports.markdown import format_markdown, write_step_summary
from wsquake.reports.model import format_value, load_run

from .rundirs import failing, passing, suite, write_run


def _rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| scenario"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows.setdefault(cells[0], cells)
    return rows


def test_heading_has_run_id_and_verdict(tmp_path: Path) -> None:
    text = format_markdown(load_run(write_run(tmp_path, suite())))
    assert text.splitlines()[0] == "## wsquake `20261127-010000-test-ab12`: 💥 error (interrupted)"


def test_scenario_rows_match_the_frames(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, suite()))
    rows = _rows(format_markdown(model))
    for s in model.scenarios.itertuples(index=False):
        cells = rows[s.scenario]
        assert s.verdict in cells[1]
        assert cells[3] == format_value(model.metric(s.scenario, "recovery.p95_s"))
        assert cells[4] == format_value(model.metric(s.scenario,
                                                     "delivery.lost_after_recovery"))


def test_interrupted_scenario_is_marked(tmp_path: Path) -> None:
    rows = _rows(format_markdown(load_run(write_run(tmp_path, suite()))))
    assert "(interrupted)" in rows["flapping"][1]


def test_not_passing_lists_failed_and_unknown_thresholds(tmp_path: Path) -> None:
    text = format_markdown(load_run(write_run(tmp_path, suite())))
    section = text.split("### Not passing")[1]
    assert "`delivery.lost_after_recovery == 0` (measured 3)" in section
    assert "`health.detect_p95_s <= 41` (measured -)" in section


def test_harness_errors_section_names_the_error(tmp_path: Path) -> None:
    text = format_markdown(load_run(write_run(tmp_path, suite())))
    assert "- **app-kill**: ProcessStartError: cloud: exited with 1 before ready" in text


def test_passing_run_has_no_not_passing_section(tmp_path: Path) -> None:
    text = format_markdown(load_run(write_run(tmp_path, [passing()])))
    assert "Not passing" not in text and "Harness errors" not in text


def test_pipe_in_a_summary_is_escaped(tmp_path: Path) -> None:
    scenario = failing()
    scenario["checks"][0]["summary"] = "a | b"
    text = format_markdown(load_run(write_run(tmp_path, [scenario])))
    assert "a \\| b" in text


def test_step_summary_is_appended_when_the_variable_is_set(tmp_path: Path) -> None:
    target = tmp_path / "step.md"
    target.write_text("before\n")
    assert write_step_summary("## hello", {"GITHUB_STEP_SUMMARY": str(target)}) == target
    assert target.read_text() == "before\n## hello\n"


def test_step_summary_is_skipped_without_the_variable() -> None:
    assert write_step_summary("## hello", {}) is None
