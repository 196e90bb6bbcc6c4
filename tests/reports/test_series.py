"""Values of the report's series frames, from small synthetic histories.

Timeline of the standard history (seconds, time scale 1, recovery window 5 s): glasses and
app up at 0; a message every second from 1 to 30; fault ``cut`` on ``app-link`` in
[10, 12]; the app loses its socket at 10.1 and is acknowledged again at 12.5 (re-subscribes
at 12.51); messages sent in [10, 12] are lost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.scenarios.synth import APP, T0, USER, Synth, ns
from wsquake.reports import series
from wsquake.scenarios.checkers.delivery import check_delivery
from wsquake.scenarios.checkers.recovery import check_recovery
from wsquake.scenarios.model import Scenario

WINDOW_S = 5.0


def standard() -> Synth:
    h = Synth()
    h.glasses_up(USER, 1, at=0).app_up(APP, 1, at=0.02)
    h.flow(USER, [APP], start=1, stop=30, lost=lambda t: 10 <= t <= 12,
           conn=lambda t: 1 if t < 10 else 2)
    h.fault("cut", "app-link", "down", 10, 12)
    h.app_loss(APP, 1, at=10.1)
    h.app_up(APP, 2, at=12.5)
    return h


def tb(time_scale: float = 1.0, origin: int = T0) -> series.Timebase:
    return series.Timebase(origin, time_scale, WINDOW_S, "t")


def scenario(time_scale: float = 1.0) -> Scenario:
    return Scenario(name="t", description="t", time_scale=time_scale,
                    recovery_window_s=WINDOW_S)


def test_fault_windows_are_in_scenario_seconds_since_the_origin() -> None:
    frames = standard().frames()
    got = series.fault_windows(frames, tb(time_scale=0.5))
    assert got[["fault", "target", "toxic"]].values.tolist() == [["cut", "app-link", "down"]]
    assert got["start_s"].tolist() == pytest.approx([20.0], abs=1e-6)
    assert got["end_s"].tolist() == pytest.approx([24.0], abs=1e-6)


def test_connected_counts_acknowledged_sockets_per_role_over_time() -> None:
    got = series.connected(standard().frames(), tb())
    app = got[got["role"] == "app"]
    # the last value is held to the end of the history (the last receive, at 30.05)
    assert app["t_s"].tolist() == pytest.approx([0.02, 10.1, 12.5, 30.05], abs=1e-6)
    assert app["connected"].tolist() == [1, 0, 1, 1]
    glasses = got[got["role"] == "glasses"]
    assert glasses["connected"].tolist() == [1, 1]


def test_message_rate_bins_sent_and_received_per_second() -> None:
    got = series.message_rate(standard().frames(), tb(), bin_s=5.0)
    # bins [0,5) [5,10) [10,15): sends at 1..4, 5..9, 10..14; receives lost for 10, 11, 12
    assert got["t_s"].tolist()[:3] == pytest.approx([2.5, 7.5, 12.5], abs=1e-6)
    assert got["sent_per_s"].tolist()[:3] == pytest.approx([4 / 5, 5 / 5, 5 / 5], abs=1e-6)
    assert got["received_per_s"].tolist()[:3] == pytest.approx([4 / 5, 5 / 5, 2 / 5], abs=1e-6)


def test_message_rate_rejects_a_non_positive_bin() -> None:
    with pytest.raises(ValueError, match="bin_s: must be > 0"):
        series.message_rate(standard().frames(), tb(), bin_s=0)


def test_probe_latency_has_one_row_per_answered_echo() -> None:
    h = standard()
    h.echo(3.0, rtt=0.04).echo(4.0, rtt=0.2).echo(5.0, answered=False)
    got = series.probe_latency(h.frames(), tb())
    assert got["rtt_ms"].tolist() == pytest.approx([40.0, 200.0], abs=1e-6)
    assert got["t_s"].tolist() == pytest.approx([3.04, 4.2], abs=1e-6)
    assert set(got["client_id"]) == {USER}


def test_recovery_cases_split_the_time_to_recover_into_phases() -> None:
    frames = standard().frames()
    cases = series.recovery_cases(frames, tb())
    app = cases[cases["role"] == "app"].iloc[0]
    assert app["outcome"] == "recovered"
    assert app["detect_s"] == pytest.approx(0.1, abs=1e-6)
    assert app["reconnect_s"] == pytest.approx(2.4, abs=1e-6)
    assert app["resubscribe_s"] == pytest.approx(0.01, abs=1e-6)
    # first fresh message: sent at 13, received at 13.05
    assert app["caught_up_s"] == pytest.approx(13.05 - 12.51, abs=1e-6)
    assert app["ttr_s"] == pytest.approx(13.05 - 12.0, abs=1e-6)


def test_recovery_cases_agree_with_the_recovery_checker() -> None:
    frames = standard().frames()
    cases = series.recovery_cases(frames, tb(time_scale=0.5))
    metrics = check_recovery(frames, scenario(time_scale=0.5)).metrics
    disrupted = cases[cases["outcome"] != "not_affected"]
    assert len(disrupted) == metrics["disrupted"]
    assert disrupted["ttr_s"].max() == pytest.approx(metrics["max_s"], abs=1e-6)


def test_ttr_cdf_stops_below_one_when_a_connection_never_recovers() -> None:
    h = standard()
    other = "v@x.io-com.a"
    h.app_up(other, 1, at=0.03)
    h.flow("v@x.io", [other], start=1, stop=9)
    h.app_loss(other, 1, at=10.2)
    cases = series.recovery_cases(h.frames(), tb())
    assert sorted(cases["outcome"]) == ["never", "recovered"]  # glasses: not in the episode
    cdf = series.ttr_cdf(cases)
    everyone = cdf[cdf["role"] == "all"]
    assert everyone["fraction"].tolist() == pytest.approx([0.5], abs=1e-6)


def test_ttr_cdf_is_empty_without_disrupted_connections() -> None:
    h = Synth()
    h.glasses_up(USER, 1, at=0).app_up(APP, 1, at=0.02)
    h.flow(USER, [APP], start=1, stop=5)
    cdf = series.ttr_cdf(series.recovery_cases(h.frames(), tb()))
    assert cdf.empty
    assert list(cdf.columns) == ["role", "ttr_s", "fraction"]


def test_phase_breakdown_gives_percentiles_per_phase() -> None:
    cases = pd.DataFrame({
        "outcome": ["recovered", "recovered", "never", "not_affected"],
        "detect_s": [0.1, 0.3, 0.2, np.nan],
        "reconnect_s": [1.0, 3.0, np.nan, np.nan],
        "resubscribe_s": [0.0, 0.0, np.nan, np.nan],
        "caught_up_s": [0.5, 0.5, np.nan, np.nan],
    })
    got = series.phase_breakdown(cases).set_index("phase")
    assert list(got.index) == list(series.RECOVERY_PHASES)
    assert got.loc["detect", "n"] == 3
    assert got.loc["detect", "p50_s"] == pytest.approx(0.2, abs=1e-6)
    assert got.loc["reconnect", "max_s"] == pytest.approx(3.0, abs=1e-6)
    assert got.loc["reconnect", "p50_s"] == pytest.approx(2.0, abs=1e-6)
    assert got.loc["caught_up", "n"] == 2


def test_delivery_by_phase_counts_losses_by_the_phase_of_the_send() -> None:
    h = standard()
    h.receive(3.2, APP, USER, "head_position", seq=3)  # a duplicate in steady state
    frames = h.frames()
    got = series.delivery_by_phase(frames, tb()).set_index("phase")
    assert got.loc["fault", "lost"] == 3          # sent at 10, 11, 12
    assert got.loc["steady", "lost"] == 0
    assert got.loc["steady", "duplicated"] == 1
    assert got.loc["steady", "expected"] == 9     # sent at 1..9
    metrics = check_delivery(frames, scenario()).metrics
    assert int(got["lost"].sum()) == metrics["lost"]
    assert int(got["duplicated"].sum()) == metrics["duplicated"]
    assert int(got["expected"].sum()) == metrics["expected"]


def test_session_outcomes_rank_the_worst_session_first() -> None:
    h = standard()
    other = "v@x.io-com.a"
    h.app_up(other, 1, at=0.03)
    h.flow("v@x.io", [other], start=1, stop=9)
    h.app_loss(other, 1, at=10.2)
    frames = h.frames()
    got = series.session_outcomes(frames, tb(), series.recovery_cases(frames, tb()))
    assert got["client_id"].tolist()[:2] == [other, APP]
    assert got["outcome"].tolist()[:2] == ["never", "recovered"]
    row = got.set_index("client_id").loc[APP]
    assert (row["connections"], row["losses"], row["lost"]) == (2, 1, 3)
    assert got.set_index("client_id").loc[USER, "outcome"] == "undisturbed"


def test_swimlanes_show_the_worst_sessions_with_intervals_and_events() -> None:
    frames = standard().frames()
    outcomes = series.session_outcomes(frames, tb(), series.recovery_cases(frames, tb()))
    lanes = series.swimlanes(frames, tb(), outcomes, worst=1)
    assert lanes.lanes["client_id"].tolist() == [APP]
    assert lanes.intervals["start_s"].tolist() == pytest.approx([0.02, 12.5], abs=1e-6)
    assert lanes.intervals["end_s"].tolist()[0] == pytest.approx(10.1, abs=1e-6)
    assert "close info 1006" in lanes.events["label"].tolist()
    assert set(lanes.events["lane"]) == {0}


def test_swimlanes_reject_zero_lanes() -> None:
    frames = standard().frames()
    with pytest.raises(ValueError, match="worst: must be >= 1"):
        series.swimlanes(frames, tb(), pd.DataFrame(), worst=0)


def test_cloud_metrics_are_long_form_gauges_and_counters_of_ok_probes() -> None:
    h = standard()
    h.add(2.0, "runner", "cloud_probe", "ok", sessions=1, glasses_connections=1,
          m_messages_dropped_total=0.0)
    h.add(11.0, "runner", "cloud_probe", "ok", sessions=1, glasses_connections=1,
          m_messages_dropped_total=3.0)
    h.add(12.0, "runner", "cloud_probe", "fail", error="timeout")
    got = series.cloud_metrics(h.frames(), tb())
    dropped = got[got["metric"] == "m_messages_dropped_total"]
    assert dropped["t_s"].tolist() == pytest.approx([2.0, 11.0], abs=1e-6)
    assert dropped["value"].tolist() == [0.0, 3.0]
    assert set(got["metric"]) == {"sessions", "glasses_connections", "m_messages_dropped_total"}


def test_timebase_rejects_a_non_positive_time_scale() -> None:
    with pytest.raises(ValueError, match="time_scale: must be a positive number"):
        series.Timebase(ns(0), 0.0)


def test_timebase_converts_wall_ns_to_scenario_seconds() -> None:
    assert float(series.Timebase(ns(1), 0.1).seconds(ns(2))) == pytest.approx(10.0, abs=1e-6)


@pytest.mark.parametrize(("end_s", "expected"), [(40.0, 2.0), (10.0, 0.5), (400.0, 20.0),
                                                 (3000.0, 100.0)])
def test_message_rate_bins_default_to_round_seconds(end_s: float, expected: float) -> None:
    h = Synth()
    h.send(0.0)
    h.send(end_s)
    got = series.message_rate(h.frames(), tb())
    assert got["t_s"].iloc[0] == pytest.approx(expected / 2)


def test_latency_quantiles_give_p50_p95_and_max_per_bin() -> None:
    latency = pd.DataFrame({"t_s": [0.5, 1.0, 1.5, 2.5], "client_id": "u",
                            "rtt_ms": [10.0, 20.0, 30.0, 100.0]})
    got = series.latency_quantiles(latency, bin_s=2.0)
    assert got["t_s"].tolist() == [1.0, 3.0]
    assert got["p50_ms"].tolist() == [20.0, 100.0]
    assert got["max_ms"].tolist() == [30.0, 100.0]
    assert got["n"].tolist() == [3, 1]
    assert got["p95_ms"].iloc[0] == pytest.approx(29.0)


def test_delivery_pairs_mark_lost_messages_per_receiver() -> None:
    frames = standard().frames()
    d = series.delivery_pairs(frames, tb())
    assert d.receivers[["component", "client_id"]].values.tolist() == [["apps-0", APP]]
    lost = d.pairs[d.pairs["t_rx"].isna()]
    assert ((lost["t_sent"] - T0) / 1e9).round(6).tolist() == [10.0, 11.0, 12.0]
    assert set(lost["phase"]) == {"fault"}


def test_ttr_cdf_has_a_curve_per_role_only_when_both_were_disrupted() -> None:
    h = standard()
    assert set(series.ttr_cdf(series.recovery_cases(h.frames(), tb()))["role"]) == {"all"}
    h.fault("gcut", "glasses-link", "down", 20, 21)
    h.glasses_loss(USER, 1, at=20.1)
    h.glasses_up(USER, 2, at=21.5)
    h.echo(5.0).echo(22.0, conn=2)
    cdf = series.ttr_cdf(series.recovery_cases(h.frames(), tb()))
    assert set(cdf["role"]) == {"all", "app", "glasses"}
    everyone = cdf[cdf["role"] == "all"]
    assert everyone["fraction"].tolist() == pytest.approx([0.5, 1.0])
