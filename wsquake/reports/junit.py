"""JUnit XML for CI systems: one ``testsuite`` per scenario, one ``testcase`` per check and
per threshold.

* a ``fail`` check or threshold has a ``failure`` (message: the summary or the
  threshold with its measured value; text: the failing examples);
* an ``unknown`` one is ``skipped`` with the reason (not enough evidence);
* a harness error (the scenario's ``error``) is a ``harness`` testcase with an ``error``;
* an interrupted scenario has a skipped ``interrupted`` testcase;
* every metric is a ``property`` of its scenario's suite (``check.metric``, ``null``
  without evidence), beside ``verdict``, ``time_scale`` and ``interrupted``.

The output validates against ``schema/junit-10.xsd`` (Jenkins xUnit plugin's JUnit
schema; :func:`validate_junit`, needs ``xmlschema``).
"""

from __future__ import annotations

import functools
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from wsquake.reports.exceptions import JUnitSchemaError
from wsquake.reports.model import RunModel, format_value

__all__ = ["SCHEMA_PATH", "format_junit", "validate_junit"]

SCHEMA_PATH = Path(__file__).with_name("schema") / "junit-10.xsd"
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _float(value: Any) -> float:
    return float(value)


def _text(value: object) -> str:
    return _INVALID_XML.sub("\ufffd", str(value))


def _seconds(value: Any) -> str:
    number = float(value) if value is not None else math.nan
    return f"{number:.3f}" if math.isfinite(number) and number >= 0 else "0"


def _property_value(value: float) -> str:
    return "null" if not math.isfinite(value) else format_value(value)


def _case(parent: ET.Element, classname: str, name: str, verdict: str, message: str,
          text: str = "") -> ET.Element:
    case = ET.SubElement(parent, "testcase", name=_text(name), classname=_text(classname),
                         time="0")
    if verdict == "fail":
        node = ET.SubElement(case, "failure", message=_text(message), type="fail")
        node.text = _text(text or message)
    elif verdict != "pass":
        ET.SubElement(case, "skipped", message=_text(f"{verdict}: {message}"))
    return case


def format_junit(model: RunModel) -> str:
    root = ET.Element("testsuites", name=_text(f"wsquake {model.run_id}"))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    checks, thresholds, examples = model.checks, model.thresholds, model.examples
    for index, s in enumerate(model.scenarios.itertuples(index=False)):
        name = str(s.scenario)
        suite = ET.SubElement(root, "testsuite", name=_text(name), id=str(index),
                              package="wsquake", time=_seconds(s.duration_s))
        if s.started_at:
            suite.set("timestamp", str(s.started_at))
        props = ET.SubElement(suite, "properties")
        own_metrics = model.metrics[model.metrics["scenario"] == name]
        for key, value in (("verdict", str(s.verdict)),
                           ("interrupted", str(bool(s.interrupted)).lower()),
                           ("time_scale", format_value(s.time_scale)),
                           ("events", str(s.events))):
            ET.SubElement(props, "property", name=key, value=value)
        for m in own_metrics.itertuples(index=False):
            ET.SubElement(props, "property", name=_text(m.key),
                          value=_property_value(_float(m.value)))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        classname = f"wsquake.{name}"
        if s.error:
            case = ET.SubElement(suite, "testcase", name="harness", classname=classname,
                                 time=_seconds(s.duration_s))
            err = ET.SubElement(case, "error", message=_text(s.error), type="harness")
            err.text = _text(s.error)
            counts["tests"] += 1
            counts["errors"] += 1
        if s.interrupted:
            _case(suite, classname, "interrupted", "unknown",
                  "the scenario was stopped early; its checks ran on what was recorded")
            counts["tests"] += 1
            counts["skipped"] += 1
        for c in checks[checks["scenario"] == name].itertuples(index=False):
            ex = examples[(examples["scenario"] == name) & (examples["check"] == c.check)]
            detail = "\n".join(
                f"{e.component} {e.client_id}: {e.outcome}: {e.detail}"
                for e in ex.itertuples(index=False))
            verdict = str(c.verdict)
            _case(suite, classname, f"check {c.check}", verdict, str(c.summary),
                  f"{c.summary}\n{detail}".strip())
            counts["tests"] += 1
            counts["failures"] += int(verdict == "fail")
            counts["skipped"] += int(verdict not in ("pass", "fail"))
            own = thresholds[(thresholds["scenario"] == name) & (thresholds["check"] == c.check)]
            for t in own.itertuples(index=False):
                measured = format_value(t.measured)
                reason = (f"no evidence for {t.metric}" if measured == "-"
                          else f"measured {measured}")
                tv = str(t.verdict)
                _case(suite, f"{classname}.{c.check}", f"threshold {t.expr}", tv,
                      f"{t.expr}: {reason}")
                counts["tests"] += 1
                counts["failures"] += int(tv == "fail")
                counts["skipped"] += int(tv not in ("pass", "fail"))
        for label, count in counts.items():
            suite.set(label, str(count))
        for label in totals:
            totals[label] += counts[label]
        duration = _float(s.duration_s)
        if math.isfinite(duration):
            total_time += duration
    for label, count in totals.items():
        root.set(label, str(count))
    root.set("time", _seconds(total_time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


@functools.cache
def _schema() -> Any:
    import xmlschema  # optional at runtime; a dev/test dependency

    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def validate_junit(text: str) -> None:
    """Raise :class:`JUnitSchemaError` naming the first problem if ``text`` is invalid."""
    schema = _schema()
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise JUnitSchemaError(f"junit.xml: not well-formed XML: {exc}") from exc
    error = next(iter(schema.iter_errors(root)), None)
    if error is not None:
        raise JUnitSchemaError(f"junit.xml does not validate against {SCHEMA_PATH.name}: "
                               f"{error.reason} at {error.path}")
