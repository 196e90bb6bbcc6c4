"""Tables for notebooks and baselines: CSV always, Parquet when ``pyarrow`` is importable.

``summary.json`` is the runner's; this module adds, into the run directory:

``metrics.csv``
    the long-form metrics (``run_id, scenario, check, metric, key, value``; empty value =
    no evidence);
``thresholds.csv`` / ``scenarios.csv`` / ``checks.csv``
    the other model frames;
``*.parquet``
    the same four tables when ``pyarrow`` is installed (never required);
``baseline.json``
    the compact baseline :mod:`wsquake.reports.compare` reads (``--baseline FILE``):
    ``{"schema": "wsquake-baseline/1", "run_id", "scenarios": {name: {"verdict",
    "time_scale", "metrics": {"check.metric": value | null}}}}``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from wsquake.reports.model import RunModel

__all__ = ["BASELINE_SCHEMA", "baseline_json", "has_parquet", "write_baseline", "write_tables"]

BASELINE_SCHEMA = "wsquake-baseline/1"


def has_parquet() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _tables(model: RunModel) -> dict[str, pd.DataFrame]:
    return {
        "metrics": model.metrics.assign(run_id=model.run_id)[
            ["run_id", "scenario", "check", "metric", "key", "value"]],
        "thresholds": model.thresholds.assign(run_id=model.run_id),
        "scenarios": model.scenarios.assign(run_id=model.run_id),
        "checks": model.checks.assign(run_id=model.run_id),
    }


def write_tables(model: RunModel, out_dir: str | Path, *,
                 parquet: bool | None = None) -> list[Path]:
    """Write the CSV tables (and Parquet if available); the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parquet = has_parquet() if parquet is None else parquet
    written: list[Path] = []
    for name, frame in _tables(model).items():
        path = out / f"{name}.csv"
        tmp = path.with_name(path.name + ".tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)
        written.append(path)
        if parquet:
            ppath = out / f"{name}.parquet"
            frame.to_parquet(ppath, index=False)
            written.append(ppath)
    return written


def baseline_json(model: RunModel) -> dict[str, Any]:
    scenarios: dict[str, Any] = {}
    for name, verdict, time_scale in zip(model.scenarios["scenario"],
                                         model.scenarios["verdict"],
                                         model.scenarios["time_scale"].astype(float),
                                         strict=True):
        own = model.metrics[model.metrics["scenario"] == name]
        scale = float(time_scale)
        scenarios[str(name)] = {
            "verdict": str(verdict),
            "time_scale": scale if math.isfinite(scale) and scale > 0 else 1.0,
            "metrics": {str(k): (None if not math.isfinite(v) else v)
                        for k, v in zip(own["key"], own["value"].astype(float), strict=True)},
        }
    return {"schema": BASELINE_SCHEMA, "run_id": model.run_id, "scenarios": scenarios}


def write_baseline(model: RunModel, path: str | Path) -> Path:
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(baseline_json(model), indent=2, allow_nan=False) + "\n", "utf-8")
    os.replace(tmp, target)
    return target
