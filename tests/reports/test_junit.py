"""JUnit XML: validates against junit-10.xsd; cases, counts and properties match the frames."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from wsquake.reports.exceptions import JUnitSchemaError
from wsquake.reports.junit import SCHEMA_PATH, format_junit, validate_junit
from wsquake.reports.model import format_value, load_run

from .rundirs import APP2, failing, passing, suite, write_run


def _xml(tmp_path: Path, scenarios: list[dict]) -> tuple[str, ET.Element]:
    text = format_junit(load_run(write_run(tmp_path, scenarios)))
    return text, ET.fromstring(text)


def _suite(root: ET.Element, name: str) -> ET.Element:
    return next(s for s in root.iter("testsuite") if s.get("name") == name)


def test_schema_file_names_its_source() -> None:
    assert "jenkinsci/xunit-plugin" in SCHEMA_PATH.read_text()


def test_every_kind_of_run_validates(tmp_path: Path) -> None:
    text, _ = _xml(tmp_path, suite())
    validate_junit(text)


def test_validator_rejects_a_suite_without_required_counts() -> None:
    bad = '<testsuites><testsuite name="x" tests="1"><testcase name="a"/></testsuite></testsuites>'
    with pytest.raises(JUnitSchemaError, match="failures"):
        validate_junit(bad)


def test_validator_rejects_malformed_xml() -> None:
    with pytest.raises(JUnitSchemaError, match="not well-formed"):
        validate_junit("<testsuites>")


def test_one_testsuite_per_scenario(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, suite())
    assert [s.get("name") for s in root.iter("testsuite")] == [
        "app-link-drop", "cloud-kill", "cloud-blackhole", "flapping", "app-kill"]


def test_one_testcase_per_check_and_threshold(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, [passing()])
    names = [c.get("name") for c in _suite(root, "app-link-drop").iter("testcase")]
    assert names == ["check recovery", "threshold recovery.rate >= 1",
                     "threshold recovery.p95_s <= 4", "check delivery",
                     "threshold delivery.lost_after_recovery == 0"]


def test_failed_check_has_a_failure_with_its_examples(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, [failing()])
    case = next(c for c in root.iter("testcase") if c.get("name") == "check recovery")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "2 disrupted: 1 recovered, 1 never"
    assert f"apps-0 {APP2}: never: no init ok after the loss at 10.5 s" in (failure.text or "")


def test_failed_threshold_message_has_the_measured_value(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, [failing()])
    case = next(c for c in root.iter("testcase")
                if c.get("name") == "threshold delivery.lost_after_recovery == 0")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "delivery.lost_after_recovery == 0: measured 3"


def test_unknown_is_skipped_with_the_reason(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, suite())
    blackhole = _suite(root, "cloud-blackhole")
    skipped = [c.find("skipped") for c in blackhole.iter("testcase")]
    assert all(s is not None for s in skipped)
    assert skipped[0].get("message") == "unknown: no snapshot: cannot tell"  # type: ignore[union-attr]
    assert "no evidence for health.detect_p95_s" in skipped[1].get("message")  # type: ignore[union-attr,operator]
    assert blackhole.get("skipped") == "2"


def test_harness_error_is_an_error_testcase(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, suite())
    kill = _suite(root, "app-kill")
    error = kill.find("testcase/error")
    assert error is not None and error.get("message", "").startswith("ProcessStartError")
    assert kill.get("errors") == "1"


def test_interrupted_scenario_has_a_skipped_interrupted_case(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, suite())
    case = _suite(root, "flapping").find("testcase[@name='interrupted']")
    assert case is not None and case.find("skipped") is not None


def test_counts_add_up_per_suite_and_in_total(tmp_path: Path) -> None:
    _, root = _xml(tmp_path, suite())
    total_tests = total_failures = 0
    for s in root.iter("testsuite"):
        cases = list(s.iter("testcase"))
        assert int(s.get("tests", "")) == len(cases)
        failures = sum(1 for c in cases if c.find("failure") is not None)
        assert int(s.get("failures", "")) == failures
        total_tests += len(cases)
        total_failures += failures
    assert (int(root.get("tests", "")), int(root.get("failures", ""))) == (total_tests,
                                                                            total_failures)


def test_metrics_are_suite_properties_matching_the_frame(tmp_path: Path) -> None:
    scenarios = suite()
    model = load_run(write_run(tmp_path, scenarios))
    root = ET.fromstring(format_junit(model))
    for s in root.iter("testsuite"):
        props = {p.get("name"): p.get("value") for p in s.iter("property")}
        own = model.metrics[model.metrics["scenario"] == s.get("name")]
        for m in own.itertuples(index=False):
            expected = "null" if format_value(m.value) == "-" else format_value(m.value)
            assert props[m.key] == expected
        assert props["verdict"] == model.scenario(s.get("name", ""))["verdict"]


def test_control_characters_are_replaced_so_the_xml_stays_valid(tmp_path: Path) -> None:
    scenario = failing()
    scenario["checks"][0]["summary"] = "bad\x00byte"
    text, _ = _xml(tmp_path, [scenario])
    validate_junit(text)
    assert "bad\ufffdbyte" in text
