"""HistoryFrames: typed columns, derived frames, and building from a run directory."""

from __future__ import annotations

import json
import time

import pandas as pd

from wsquake.history.frame import HistoryFrames

from .synth import APP, T0, USER, Synth, ns, session_body, user_entry


def test_frames_have_typed_and_categorical_columns_in_time_order() -> None:
    h = Synth().app_up(at=2).glasses_up(at=1)
    ev = h.frames().events
    assert ev["t"].dtype == "int64" and ev["conn"].dtype == "int64"
    for col in ("kind", "outcome", "component", "client_id", "role"):
        assert isinstance(ev[col].dtype, pd.CategoricalDtype), col
    assert ev["t"].is_monotonic_increasing
    assert list(ev["kind"][:3]) == ["connect", "connect", "init"]


def test_faults_pair_starts_and_ends_per_fault_in_order() -> None:
    h = Synth()
    for k in range(3):
        h.fault("flap", "app-link", "down", 10 + 3 * k, 11 + 3 * k)
    h.fault("hole", "glasses-link", "timeout", 5, None)  # never healed
    h.add(40, "runner", "note", "info", text="end")
    faults = h.frames().faults
    flap = faults[faults["fault"] == "flap"]
    assert list(flap["window"]) == [0, 1, 2]
    assert list(flap["start_ns"]) == [ns(10), ns(13), ns(16)]
    assert list(flap["end_ns"]) == [ns(11), ns(14), ns(17)]
    hole = faults[faults["fault"] == "hole"].iloc[0]
    assert hole["end_ns"] == ns(40)  # the end of the history


def test_faults_prefer_ok_events_and_fall_back_to_invoke() -> None:
    h = Synth()
    h.add(9.5, "runner", "fault_start", "invoke", fault="a", target="app-link", toxic="down")
    h.add(10, "runner", "fault_start", "ok", fault="a", target="app-link", toxic="down")
    h.add(12, "runner", "fault_end", "ok", fault="a", target="app-link", toxic="down")
    h.add(20, "runner", "fault_start", "invoke", fault="b", target="cloud", toxic="kill")
    h.add(21, "runner", "fault_end", "invoke", fault="b", target="cloud", toxic="kill")
    faults = h.frames().faults.set_index("fault")
    assert faults.loc["a", "start_ns"] == ns(10)
    assert faults.loc["b", "end_ns"] == ns(21)


def test_sends_count_only_glasses_ok_sends_and_probes() -> None:
    h = Synth().glasses_up()
    h.send(1)
    h.add(2, "glasses-0", "send", "fail", USER, 1, user=USER, stream="head_position", seq=2)
    h.add(3, "apps-0", "send", "ok", APP, 1, user=USER, stream="display", seq=1)
    h.send_probe(4)
    sends = h.frames().sends
    assert list(zip(sends["kind"], sends["seq"], strict=True)) == [("send", 1), ("probe", 1)]


def test_losses_exclude_own_and_stale_closes() -> None:
    h = Synth().glasses_up().app_up()
    h.app_loss(at=1)
    h.add(2, "apps-0", "close", "info", APP, 1, code=1000, initiator="self")
    h.add(3, "glasses-0", "close", "ok", USER, 1, code=1006, initiator="self", stale=True)
    h.add(4, "glasses-0", "close", "info", USER, 2, code=1001, initiator="peer")
    losses = h.frames().losses
    assert list(losses["t"]) == [ns(1), ns(4)]


def test_snapshots_parse_bodies_and_skip_failed_or_broken_probes() -> None:
    h = Synth().probe(1, session_body([user_entry()])).probe(2, None, outcome="fail")
    h.add(3, "runner", "cloud_probe", "ok", body="{not json")
    snaps = h.frames().snapshots()
    assert [s.t for s in snaps] == [ns(1)]
    assert snaps[0].users[0]["userId"] == USER
    assert snaps[0].connections() == 2


def test_roles_come_from_components_or_are_inferred_from_event_kinds() -> None:
    h = Synth()
    h.add(1, "fleet-x", "receive", "ok", "c1", 1, user=USER, stream="s", seq=1)
    h.add(1, "fleet-y", "display", "ok", "c2", 1)
    h.add(1, "fleet-z", "note", "info", "c3", text="?")
    roles = dict(zip(h.frames().events["component"], h.frames().events["role"], strict=True))
    assert roles == {"fleet-x": "app", "fleet-y": "glasses", "fleet-z": "other"}


def test_frames_load_a_run_directory_of_jsonl_files(tmp_path) -> None:
    h = Synth().glasses_up().app_up(at=0.5)
    by_component: dict[str, list[str]] = {}
    for event in h.events:
        by_component.setdefault(event.component, []).append(event.to_json_line())
    for component, lines in by_component.items():
        (tmp_path / f"{component}.jsonl").write_text("\n".join(lines) + "\n")
    frames = HistoryFrames.from_run_dir(tmp_path)
    assert len(frames) == len(h.events)
    assert set(frames.acks["client_id"]) == {USER, APP}


def test_frames_build_from_empty_history() -> None:
    frames = HistoryFrames.from_events([])
    assert len(frames) == 0 and frames.faults.empty and frames.snapshots() == []


def test_frames_handle_200k_events_vectorised() -> None:
    records = []
    for i in range(100_000):
        t = T0 + i * 1_000_000
        records.append({"t": t, "component": "glasses-0", "client_id": USER, "session_id": USER,
                        "conn": 1, "kind": "send", "outcome": "ok", "user": USER,
                        "stream": "s", "seq": i})
        records.append({"t": t + 500, "component": "apps-0", "client_id": APP,
                        "session_id": APP, "conn": 1, "kind": "receive", "outcome": "ok",
                        "user": USER, "stream": "s", "seq": i})
    started = time.perf_counter()
    frames = HistoryFrames.from_records(records)
    elapsed = time.perf_counter() - started
    assert len(frames.sends) == len(frames.receives) == 100_000
    assert elapsed < 20, f"{elapsed:.1f} s for 200k events (1M takes ~3 s on one core)"
    assert json.dumps(frames.excerpt("apps-0", APP, T0, T0 + 10**9))  # JSON-able excerpt


def test_connections_list_each_epoch_with_its_lifecycle() -> None:
    h = Synth().app_up(at=1)            # app_up records connect invoke, init ok, subscribe
    h.app_loss(at=5)
    h.app_up(conn=2, at=6.5)
    h.app_up(conn=1, at=20.5)           # the process restarted: epochs count from 1 again
    conns = h.frames().connections
    got = list(zip(conns["incarnation"], conns["conn"], conns["acked_ns"], conns["lost"],
                   strict=True))
    assert got == [(0, 1, ns(1), True), (0, 2, ns(6.5), False), (1, 1, ns(20.5), False)]
    assert conns["closed_ns"].isna().sum() == 2


def test_frames_prefer_the_merged_history_beside_a_journal(tmp_path) -> None:
    h = Synth().glasses_up().app_up(at=0.5)
    (tmp_path / "history.jsonl").write_text(
        "\n".join(e.to_json_line() for e in h.events) + "\n")
    (tmp_path / "journal.jsonl").write_text('{"what": "not a history event"}\n')
    assert len(HistoryFrames.from_run_dir(tmp_path)) == len(h.events)
    assert len(HistoryFrames.from_run_dir(tmp_path / "history.jsonl")) == len(h.events)
