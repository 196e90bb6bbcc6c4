"""One real (defect, scenario) pair end to end: ``baseline`` with D11
(``loading_apps_as_object``) on fails its ``lifecycle`` check with the symptom named, and
the same scenario on the clean cloud passes (real cloud, apps, glasses and proxy
processes on loopback; about 15 s)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from wsquake.scenarios.defect_matrix import CellOutcome, plan
from wsquake.scenarios.defect_suite import MATRIX_JSON, matrix_of, write_matrix
from wsquake.scenarios.runner import Runner, RunSettings


async def test_d11_baseline_fails_with_the_switch_on_and_passes_on_the_clean_cloud(
    tmp_path: Path,
) -> None:
    runs, scenarios = plan(defects=["D11"])
    scenarios = [s.with_fleet(users=2) for s in scenarios]
    started = time.monotonic()
    result = await Runner(RunSettings(out=tmp_path, toxiproxy_url="")).run(
        scenarios, label="defects")
    matrix = matrix_of(result, runs, time.monotonic() - started)
    write_matrix(matrix, result.path)
    caught, clean = matrix.cells
    assert (caught.run_name, caught.outcome) == ("d11-baseline", CellOutcome.CAUGHT), caught
    assert "lifecycle" in caught.failed_checks
    assert '"loadingApps" as an object' in caught.evidence
    assert (clean.run_name, clean.outcome) == ("clean-baseline", CellOutcome.CLEAN_PASS), clean
    assert matrix.exit_code() == 0
    assert json.loads((result.path / MATRIX_JSON).read_text())["ok"] is True
