"""``wsquake run`` / ``suite`` / ``list`` argument and scenario errors: exit 64, nothing
started, a message naming what was wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wsquake.cli import main

BAD_FIELD = textwrap.dedent(
    """
    from wsquake.faults.client import Latency
    from wsquake.scenarios import FaultStep, Link, Scenario

    SCENARIO = Scenario(
        name="bad-step",
        description="a fault step with a negative duration",
        steps=(FaultStep(Link.APP, Latency(100), at_s=1, duration_s=-2),),
    )
    """
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def test_a_malformed_scenario_file_exits_64_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.py"
    path.write_text(BAD_FIELD)
    code, text = run(["run", str(path), "--out", str(tmp_path / "runs")], capsys)
    assert code == 64
    assert "FaultStep.duration_s: must be > 0, got -2" in text
    assert not (tmp_path / "runs").exists()  # rejected before anything started


def test_a_file_without_a_scenario_exits_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.py"
    path.write_text("X = 1\n")
    code, text = run(["run", str(path), "--out", str(tmp_path / "runs")], capsys)
    assert (code, "defines neither SCENARIO nor scenario()" in text) == (64, True)


def test_an_unknown_scenario_name_exits_64_listing_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(["run", "no-such-scenario", "--out", str(tmp_path)], capsys)
    assert code == 64
    assert "unknown scenario 'no-such-scenario'" in text


def test_an_unknown_suite_exits_64_naming_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(["suite", "nightly", "--out", str(tmp_path)], capsys)
    assert code == 64
    assert "unknown suite 'nightly' (known: smoke, regression, full)" in text


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--time-scale", "0", "--time-scale: must be > 0, got 0"),
        ("--users", "0", "--users: must be >= 1, got 0"),
        ("--seed", "x", "--seed: expected an integer, got 'x'"),
    ],
)
def test_a_bad_flag_exits_64_naming_it(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "baseline", flag, value])
    assert exc.value.code == 64
    assert message in capsys.readouterr().err


def test_a_cloud_url_that_is_not_http_exits_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ok.py"
    path.write_text(BAD_FIELD.replace("duration_s=-2", "duration_s=2"))
    code, text = run(["run", str(path), "--cloud-url", "ws://x:1", "--out", str(tmp_path)],
                     capsys)
    assert code == 64
    assert "--cloud-url: expected http://HOST:PORT" in text


def test_a_bad_toxiproxy_url_exits_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.py"
    path.write_text(BAD_FIELD.replace("duration_s=-2", "duration_s=2"))
    monkeypatch.setenv("TOXIPROXY_URL", "ftp://nowhere")
    code, text = run(["run", str(path), "--out", str(tmp_path)], capsys)
    assert code == 64
    assert "TOXIPROXY_URL must be" in text


def test_list_shows_every_catalog_scenario_and_every_suite(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wsquake.scenarios.loader import catalog_names

    code, text = run(["list"], capsys)
    assert code == 0
    for name in (*catalog_names(), "smoke", "regression", "full"):
        assert name in text, name
