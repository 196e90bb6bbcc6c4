"""The terminal report shows the DataFrames' values, at 80 columns, without colour codes."""

from __future__ import annotations

import io
from pathlib import Path

from wsquake.reports.model import format_value, load_run
from wsquake.reports.terminal import (
    PHASE_COLUMNS,
    RECOVERY_COLUMNS,
    format_terminal,
    phase_table,
    print_terminal,
    recovery_table,
    worst_sessions,
)

from .rundirs import APP2, failing, passing, suite, write_run


def _report(tmp_path: Path, scenarios: list[dict]) -> tuple[str, object]:
    model = load_run(write_run(tmp_path, scenarios))
    return format_terminal(model), model


def test_every_line_fits_80_columns(tmp_path: Path) -> None:
    text, _ = _report(tmp_path, suite())
    assert max(len(line) for line in text.splitlines()) <= 80


def test_plain_text_has_no_escape_codes(tmp_path: Path) -> None:
    text, _ = _report(tmp_path, suite())
    assert "\x1b[" not in text


def test_tree_shows_run_scenario_and_check_verdicts(tmp_path: Path) -> None:
    text, _ = _report(tmp_path, suite())
    lines = text.splitlines()
    assert lines[0] == "run 20261127-010000-test-ab12  ERROR (interrupted)"
    assert any("cloud-kill  FAIL" in line for line in lines)
    assert any("recovery  FAIL  2 disrupted: 1 recovered, 1 never" in line for line in lines)
    assert any("flapping  UNKNOWN (interrupted)" in line for line in lines)
    assert any("health  UNKNOWN  no snapshot: cannot tell" in line for line in lines)


def test_harness_error_is_shown_under_its_scenario(tmp_path: Path) -> None:
    text, _ = _report(tmp_path, suite())
    assert "harness error: ProcessStartError: cloud: exited with 1 before ready" in text


def test_failed_threshold_is_shown_with_its_measured_value(tmp_path: Path) -> None:
    text, _ = _report(tmp_path, [failing()])
    assert "FAIL  delivery.lost_after_recovery == 0  (measured 3)" in text


def test_thresholds_table_rows_match_the_frame(tmp_path: Path) -> None:
    text, model = _report(tmp_path, suite())
    lines = text.splitlines()
    for t in model.thresholds.itertuples(index=False):
        row = [line for line in lines if t.expr in line and line.startswith(f" {t.scenario}")]
        assert row, t.expr
        assert format_value(t.measured) in row[0].split()
        assert t.verdict.upper() in row[0].split()


def test_recovery_table_matches_the_metrics(tmp_path: Path) -> None:
    text, model = _report(tmp_path, [passing(), failing()])
    frame = recovery_table(model)
    assert list(frame.columns) == ["scenario", *RECOVERY_COLUMNS]
    for row in frame.itertuples(index=False):
        line = next(line for line in text.splitlines()
                    if line.startswith(f" {row[0]} ") and "PASS" not in line
                    and "FAIL" not in line)
        assert line.split()[1:] == [format_value(v) for v in row[1:]]


def test_phase_table_shows_the_phase_p95s_of_disrupted_scenarios(tmp_path: Path) -> None:
    text, model = _report(tmp_path, [passing(), failing()])
    frame = phase_table(model)
    assert list(frame["scenario"]) == ["app-link-drop"]  # cloud-kill has no phase metrics
    assert list(frame.columns) == ["scenario", *PHASE_COLUMNS]
    section = text.split("recovery phases")[1]
    row = next(line for line in section.splitlines() if line.startswith(" app-link-drop"))
    assert row.split()[1:] == ["0.043", "1.25", "0.002", "0.625"]


def test_worst_sessions_lists_the_client_that_never_reconnected_first(tmp_path: Path) -> None:
    text, model = _report(tmp_path, [failing()])
    frame = worst_sessions(model)
    assert frame.iloc[0]["client_id"] == APP2
    section = text.split("worst sessions")[1]
    assert section.index(APP2) < section.index("u@x.io-com.a")
    assert "19.5 never" in section  # loss 10.5 s → end of history 30 s


def test_sessions_can_be_left_out(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, [failing()]))
    assert "worst sessions" not in format_terminal(model, sessions=False)


def test_failing_examples_are_listed(tmp_path: Path) -> None:
    text, _ = _report(tmp_path, [failing()])
    section = text.split("failing examples")[1]
    assert "cloud-kill/recovery" in section and APP2 in section


def test_passing_run_has_no_failing_examples_section(tmp_path: Path) -> None:
    text, _ = _report(tmp_path, [passing()])
    assert "failing examples" not in text
    assert text.splitlines()[0].endswith("PASS")


def test_print_terminal_to_a_file_writes_no_colour(tmp_path: Path) -> None:
    model = load_run(write_run(tmp_path, [failing()]))
    out = io.StringIO()
    print_terminal(model, out)
    assert "cloud-kill" in out.getvalue()
    assert "\x1b[" not in out.getvalue()
