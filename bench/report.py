"""Benchmark: every report from a synthetic history of ~1,000,000 events (5,000 sessions).

    .venv/bin/python bench/report.py [--sessions 5000] [--events 1000000] [--keep DIR]

Three processes, so each peak RSS is its own (``resource.getrusage`` ``ru_maxrss``):

1. *generate* (this process): a run directory with one scenario, ``app-link-drop`` at
   time scale 1 with ``--sessions`` users, and its ``history.jsonl``: per user, glasses
   and one app connect and subscribe; ``head_position`` every ~0.6 s sent by the glasses
   and received by the app; a probe + echo every 8 s; an ``app-link`` cut at 30-30.5 s
   that drops every second app (close 1006, reconnect, resubscribe after ~0.7 s; the
   messages of the outage are lost); cloud probes every 2 s (with an ``/api/sessions``
   body before the fault, after it and at the end).
2. *checks*: the scenario's checkers over the history → ``summary.json`` (what the runner
   does at the end of a scenario; timed separately).
3. *reports*: ``write_reports(run_dir)`` — every format, HTML included when
   ``wsquake.reports.html`` exists — timed, with its peak RSS.

Target (issue 6): reports < 20 s and < 2 GiB. Wall time is printed with the process's CPU
time (user + system): on a shared machine the CPU time is the comparable figure.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T0 = 1_800_000_000_000_000_000
SCENARIO = "app-link-drop"
FAULT_S, HEAL_S, END_S = 30.0, 30.5, 60.0


def _ns(seconds: float) -> int:
    return T0 + round(seconds * 1e9)


def _line(t: float, component: str, client: str, conn: int, kind: str, outcome: str,
          **fields: Any) -> str:
    event = {"t": _ns(t), "component": component, "client_id": client,
             "session_id": client, "conn": conn, "kind": kind, "outcome": outcome, **fields}
    return json.dumps(event, separators=(",", ":"))


def _body(users: list[str], sids: list[str]) -> str:
    return json.dumps({
        "generatedAt": "bench", "profile": "fixed",
        "connections": {"glasses": len(users), "app": len(sids), "app_unbound": 0},
        "users": [{"userId": u, "state": "CONNECTED", "glassesSockets": 1, "apps": [
            {"packageName": "com.wsquake.app1", "sessionId": s, "state": "running",
             "sockets": 1, "subscriptions": ["head_position"], "lastPongAgeMs": 100.0}]}
            for u, s in zip(users, sids, strict=True)],
        "registrations": [],
    }, separators=(",", ":"))


def generate(run_dir: Path, sessions: int, events: int, seed: int = 1) -> int:
    """Write the history (unsorted: the frames sort by ``t``); the number of events."""
    rng = random.Random(seed)
    sdir = run_dir / SCENARIO
    sdir.mkdir(parents=True)
    per_user = events / sessions
    sends = max(10, int((per_user - 24) / 2))
    every = (END_S - 3.0) / sends
    users = [f"user{i:05d}@example.com" for i in range(sessions)]
    sids = [f"{u}-com.wsquake.app1" for u in users]
    count = 0
    with (sdir / "history.jsonl").open("w", encoding="utf-8") as fh:
        def emit(text: str) -> None:
            nonlocal count
            fh.write(text + "\n")
            count += 1

        for probe_t in range(0, int(END_S), 2):
            final = probe_t == int(END_S) - 2
            fields: dict[str, Any] = {"sessions": sessions, "apps": sessions, "loading": 0,
                                      "phase": "faults", "final": final}
            if probe_t in (28, 44) or final:
                fields["body"] = _body(users, sids)
            emit(_line(probe_t + 0.9, "runner", "", 0, "cloud_probe", "ok", **fields))
        for kind, at in (("fault_start", FAULT_S), ("fault_end", HEAL_S)):
            for outcome in ("invoke", "ok"):
                emit(_line(at, "runner", "", 0, kind, outcome, fault="cut",
                           target="app-link", toxic="down", step=0, window=1))
        for i, (user, sid) in enumerate(zip(users, sids, strict=True)):
            start = 2.0 * i / sessions
            emit(_line(start, "glasses-0", user, 1, "connect", "invoke"))
            emit(_line(start + 0.005, "glasses-0", user, 1, "connect", "ok"))
            emit(_line(start + 0.01, "glasses-0", user, 1, "init", "ok"))
            emit(_line(start + 0.02, "glasses-0", user, 1, "start_app", "invoke",
                       package="com.wsquake.app1"))
            emit(_line(start + 0.04, "glasses-0", user, 1, "start_app", "ok",
                       package="com.wsquake.app1"))
            emit(_line(start + 0.05, "apps", sid, 1, "connect", "invoke"))
            emit(_line(start + 0.06, "apps", sid, 1, "init", "ok"))
            emit(_line(start + 0.07, "apps", sid, 1, "subscribe", "invoke",
                       streams="head_position"))
            dropped = i % 2 == 0
            loss = FAULT_S + rng.uniform(0.0, 0.05)
            back = HEAL_S + rng.uniform(0.1, 0.4)
            if dropped:
                emit(_line(loss, "apps", sid, 1, "close", "info", code=1006,
                           initiator="network"))
                emit(_line(back, "apps", sid, 2, "connect", "invoke"))
                emit(_line(back + 0.01, "apps", sid, 2, "init", "ok"))
                emit(_line(back + 0.02, "apps", sid, 2, "subscribe", "invoke",
                           streams="head_position"))
            t = 3.0 + rng.uniform(0.0, every)
            seq = 0
            while t < END_S:
                seq += 1
                emit(_line(t, "glasses-0", user, 1, "send", "ok", user=user,
                           stream="head_position", seq=seq))
                offline = dropped and loss <= t < back + 0.02
                if not offline:
                    conn = 2 if dropped and t >= back else 1
                    emit(_line(t + 0.02, "apps", sid, conn, "receive", "ok", user=user,
                               stream="head_position", seq=seq))
                t += every
            for n, pt in enumerate(range(4, int(END_S), 8), 1):
                at = pt + rng.uniform(0.0, 1.0)
                emit(_line(at, "glasses-0", user, 1, "probe", "invoke", user=user,
                           stream="button_press", seq=n))
                emit(_line(at + 0.05, "glasses-0", user, 1, "display", "ok", probe_seq=n,
                           rtt_ms=50.0))
    return count


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """User + system CPU of this process: the figure that holds on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stage_checks(run_dir: Path, sessions: int, events: int) -> None:
    from wsquake.reports.model import _load_frames
    from wsquake.scenarios import load_scenario
    from wsquake.scenarios.checkers import run_checks
    from wsquake.scenarios.runner import _threshold_json

    scenario = load_scenario(SCENARIO).scaled(1.0).with_fleet(users=sessions)
    t0 = time.perf_counter()
    frames = _load_frames(run_dir / SCENARIO / "history.jsonl")
    assert frames is not None
    t1 = time.perf_counter()
    checks = []
    for result in run_checks(frames, scenario):
        data = result.to_json()
        data["thresholds"] = [_threshold_json(t) for t in data["thresholds"]]
        checks.append(data)
    t2 = time.perf_counter()
    verdicts = [c["verdict"] for c in checks]
    verdict = "fail" if "fail" in verdicts else "unknown" if "unknown" in verdicts else "pass"
    summary = {"schema": 1, "run_id": run_dir.name, "started_at": None, "finished_at": None,
               "interrupted": False, "verdict": verdict, "exit_code": 0, "scenarios": [{
                   "name": SCENARIO, "verdict": verdict, "interrupted": False, "error": None,
                   "dir": SCENARIO, "started_at": None, "finished_at": None,
                   "duration_s": END_S, "time_scale": 1.0, "events": events,
                   "truncated_lines": 0, "faults": {"applied": 1, "healed": 1,
                                                    "rolled_back": 0},
                   "rollback_errors": [], "checks": checks}]}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False))
    (run_dir / SCENARIO / "scenario.json").write_text(json.dumps(
        {"name": SCENARIO, "recovery_window_s": scenario.recovery_window_s,
         "time_scale": 1.0}))
    print(json.dumps({"frames_s": round(t1 - t0, 2), "checkers_s": round(t2 - t1, 2),
                      "verdicts": dict(zip([c["name"] for c in checks], verdicts,
                                           strict=True)),
                      "peak_rss_mib": round(_peak_mib())}))


def stage_reports(run_dir: Path) -> None:
    from wsquake.reports import write_reports

    t0, c0 = time.perf_counter(), _cpu_s()
    written = write_reports(run_dir)
    elapsed, cpu = time.perf_counter() - t0, _cpu_s() - c0
    print(json.dumps({"reports_s": round(elapsed, 2), "cpu_s": round(cpu, 2),
                      "peak_rss_mib": round(_peak_mib()),
                      "formats": sorted(written),
                      "files": sorted(p.name for paths in written.values() for p in paths)}))


def _child(stage: str, run_dir: Path, *extra: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, f"--stage={stage}", str(run_dir), *extra],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{stage} stage failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build the run directory here and keep it")
    parser.add_argument("--stage", choices=["checks", "reports"], help=argparse.SUPPRESS)
    parser.add_argument("run_dir", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "checks":
        stage_checks(args.run_dir, args.sessions, args.events)
        return 0
    if args.stage == "reports":
        stage_reports(args.run_dir)
        return 0
    parent = args.keep or Path(tempfile.mkdtemp(prefix="wsquake-bench-report-"))
    run_dir = parent / "bench-run"
    try:
        t0 = time.perf_counter()
        count = generate(run_dir, args.sessions, args.events)
        size = (run_dir / SCENARIO / "history.jsonl").stat().st_size / 2**20
        print(f"generated {count:,} events, {args.sessions:,} sessions, {size:.0f} MiB "
              f"in {time.perf_counter() - t0:.1f} s")
        checks = _child("checks", run_dir, f"--sessions={args.sessions}",
                        f"--events={count}")
        print(f"checks: frames {checks['frames_s']} s + checkers {checks['checkers_s']} s, "
              f"peak RSS {checks['peak_rss_mib']} MiB; verdicts {checks['verdicts']}")
        reports = _child("reports", run_dir)
        ok = reports["reports_s"] < 20 and reports["peak_rss_mib"] < 2048
        print(f"reports ({', '.join(reports['formats'])}): {reports['reports_s']} s wall, "
              f"{reports['cpu_s']} s CPU, "
              f"peak RSS {reports['peak_rss_mib']} MiB — target < 20 s and < 2048 MiB: "
              f"{'met' if ok else 'MISSED'}")
        print(f"files: {', '.join(reports['files'])}")
        return 0 if ok else 1
    finally:
        if args.keep is None:
            shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
