"""Loading scenarios by catalog name or from a user's file; malformed ones are rejected
before anything starts, naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsquake.scenarios import ScenarioError, load_scenario

GOOD = '''
from wsquake.faults.client import Latency
from wsquake.scenarios import CheckSpec, FaultStep, Link, Scenario

SCENARIO = Scenario(
    name="my-latency",
    description="mine",
    time_scale=0.1,
    steps=(FaultStep(Link.APP, Latency(100), at_s=1, duration_s=2),),
    checks=(CheckSpec.of("delivery", "delivery.lost == 0"),),
)
'''


def write(tmp_path: Path, text: str, name: str = "mine.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_loader_loads_a_catalog_scenario_by_name() -> None:
    assert load_scenario("baseline").name == "baseline"


def test_loader_loads_scenario_constant_from_a_file(tmp_path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD))
    assert scenario.name == "my-latency"
    assert load_scenario(str(write(tmp_path, GOOD))).steps == scenario.steps


def test_loader_calls_a_scenario_function(tmp_path) -> None:
    text = GOOD.replace("SCENARIO = Scenario(", "def scenario():\n    return Scenario(")
    assert load_scenario(write(tmp_path, text)).name == "my-latency"


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace("duration_s=2", "duration_s=-1"), "FaultStep.duration_s: must be > 0"),
    (GOOD.replace('"delivery.lost == 0"', '"delivery.lost === 0"'),
     "checks[delivery].thresholds[0]"),
    (GOOD.replace('name="my-latency"', 'name="My Latency"'), "name: lowercase"),
    ("x = 1\n", "defines neither SCENARIO nor scenario()"),
    ("SCENARIO = {'name': 'x'}\n", "SCENARIO must be a wsquake.scenarios.Scenario, got dict"),
    ("def scenario(:\n", "syntax error"),
    ("import not_a_module_anywhere\n", "import failed: ModuleNotFoundError"),
    ("def scenario():\n    raise RuntimeError('boom')\n", "scenario() raised RuntimeError: boom"),
])
def test_loader_rejects_a_malformed_file_naming_file_and_field(tmp_path, text, message) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_loader_rejects_an_unknown_name_listing_the_catalog() -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'.*baseline"):
        load_scenario("nope")


def test_loader_rejects_a_missing_file_and_a_non_python_file(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.py")
    with pytest.raises(ScenarioError, match="must be a .py module"):
        load_scenario(write(tmp_path, GOOD, "mine.txt"))


def test_loader_loads_the_readme_example_which_fits_in_30_lines(tmp_path) -> None:
    doc = (Path(__file__).parents[2] / "docs/scenarios.md").read_text()
    block = doc.split("### Write your own")[1].split("```python\n")[1].split("```")[0]
    assert len(block.splitlines()) < 30
    scenario = load_scenario(write(tmp_path, block))
    assert scenario.name == "slow-app-link" and scenario.steps
