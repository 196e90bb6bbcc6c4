"""Checker evidence of the known upstream defects (PROTOCOL.md §12): each new metric
counts its symptom in a synthetic history, stays 0 on the healthy twin, and its example
names the symptom."""

from __future__ import annotations

from wsquake.scenarios import CheckSpec, Scenario, Verdict
from wsquake.scenarios.checkers import run_check

from .synth import APP, USER, Synth, app_entry, session_body, user_entry

SCENARIO = Scenario("t", "test")  # time_scale 1: option windows are wall seconds here


def lifecycle(h: Synth, scenario: Scenario = SCENARIO):
    return run_check("lifecycle", h.frames(), scenario)


def fleet() -> Synth:
    return Synth().glasses_up().app_up(at=0.1)


# --- lifecycle ---------------------------------------------------------------------------------


def test_init_refused_with_a_code_counts_a_session_that_never_connected_and_names_the_code():
    sid = "anne-marie@ex-ample.com-com.a"
    h = Synth().glasses_up("anne-marie@ex-ample.com")
    h.add(0.2, "apps", "webhook", "invoke", sid, request="session_request")
    h.add(0.3, "apps", "init", "invoke", sid, conn=1)
    h.add(0.31, "apps", "init", "fail", sid, conn=1, package="com.a",
          error="No active session for user anne",
          code="SESSION_NOT_FOUND", error_code="SESSION_NOT_FOUND")
    result = lifecycle(h)
    assert result.metrics["init_failures"] == 1
    assert result.metrics["init_failed_sessions"] == 1
    details = [e.detail for e in result.examples]
    assert any("app session for anne-marie@ex-ample.com never connected: SESSION_NOT_FOUND"
               in d for d in details), details
    assert "SESSION_NOT_FOUND" in result.summary


def test_an_ack_timeout_is_not_an_init_refusal():
    h = fleet().add(3, "apps", "init", "fail", APP, conn=2, error="ack timeout")
    assert lifecycle(h).metrics["init_failures"] == 0


def _dispose(h: Synth, *, stop_request: bool) -> Synth:
    h.add(0.05, "apps", "webhook", "invoke", APP, request="session_request")
    if stop_request:
        h.add(5.0, "apps", "webhook", "invoke", APP, request="stop_request")
    return h.add(5.1, "apps", "close", "info", APP, conn=1, code=1000,
                 reason="User session ended", initiator="peer")


def test_an_app_ended_by_dispose_without_stop_request_is_counted_and_named():
    result = lifecycle(_dispose(fleet(), stop_request=False))
    assert result.metrics["ended_without_stop"] == 1
    assert any("no stop_request" in e.detail for e in result.examples)


def test_an_app_ended_by_dispose_after_its_stop_request_is_fine():
    assert lifecycle(_dispose(fleet(), stop_request=True)).metrics["ended_without_stop"] == 0


def test_a_session_request_retried_after_the_apps_500_counts_as_repeated():
    h = fleet()
    h.add(1.0, "apps", "webhook", "invoke", APP, request="session_request")
    h.add(6.0, "apps", "webhook", "fail", APP, request="session_request", status=500)
    h.add(7.0, "apps", "webhook", "invoke", APP, request="session_request")
    result = lifecycle(h)
    assert result.metrics["repeated_requests"] == 1
    assert any("answered the first with 500" in e.detail for e in result.examples)


def test_a_session_request_long_after_a_failure_or_after_a_success_is_not_repeated():
    h = fleet()
    h.add(1.0, "apps", "webhook", "invoke", APP, request="session_request")
    h.add(1.1, "apps", "webhook", "ok", APP, request="session_request", status=200)
    h.add(2.0, "apps", "webhook", "invoke", APP, request="session_request")  # after an ok
    h.add(3.0, "apps", "webhook", "fail", APP, request="session_request", status=500)
    h.add(9.0, "apps", "webhook", "invoke", APP, request="session_request")  # 6 s > 3 s
    assert lifecycle(h).metrics["repeated_requests"] == 0


def test_loading_apps_not_a_list_in_an_ack_is_counted_and_fails_its_threshold():
    h = fleet().add(0.5, "glasses-0", "ack", "ok", USER, conn=1, loading_not_list=True)
    scenario = Scenario("t", "test", checks=(
        CheckSpec.of("lifecycle", "lifecycle.loading_apps_not_list == 0"),))
    result = lifecycle(h, scenario)
    assert result.metrics["loading_apps_not_list"] == 1
    assert result.verdict is Verdict.FAIL
    assert any('"loadingApps" as an object' in e.detail for e in result.examples)


def _reconnect(resent: bool, text: str = "com.a") -> Synth:
    h = Synth().glasses_up(USER, 1, at=0.0)
    h.add(0.1, "glasses-0", "display", "info", USER, conn=1, text=text)
    h.add(5.0, "glasses-0", "close", "info", USER, conn=1, code=1006, initiator="network")
    h.add(7.0, "glasses-0", "ack", "ok", USER, conn=2)
    if resent:
        h.add(7.01, "glasses-0", "display", "info", USER, conn=2, text=text)
    return h


def test_a_glasses_reconnect_without_the_display_resent_is_counted():
    result = lifecycle(_reconnect(resent=False))
    assert result.metrics["display_not_resent"] == 1
    assert any("got no display" in e.detail for e in result.examples)


def test_a_glasses_reconnect_with_the_display_resent_or_after_an_empty_one_is_fine():
    assert lifecycle(_reconnect(resent=True)).metrics["display_not_resent"] == 0
    assert lifecycle(_reconnect(resent=False, text="")).metrics["display_not_resent"] == 0


# --- leaks -------------------------------------------------------------------------------------


def test_leaks_report_peak_sockets_and_leaked_subscriptions_over_every_snapshot():
    busy = session_body([user_entry(apps=[app_entry(sockets=2)], glasses_sockets=2)])
    busy["leakedSubscriptions"] = [
        {"userId": USER, "packageName": "com.a", "subscriptions": ["head_position"]}]
    h = fleet().probe(1, busy).probe(9, session_body([user_entry(apps=[app_entry()])]))
    result = run_check("leaks", h.frames(), SCENARIO)
    assert result.metrics["peak_app_sockets"] == 2
    assert result.metrics["peak_glasses_sockets"] == 2
    assert result.metrics["leaked_subscriptions"] == 1
    details = " | ".join(e.detail for e in result.examples)
    assert f"app session {APP} held 2 sockets" in details
    assert f"user {USER} held 2 glasses sockets" in details
    assert "kept after dispose" in details


def test_leaks_peaks_are_one_and_zero_on_a_healthy_cloud():
    body = session_body([user_entry(apps=[app_entry()])])
    h = fleet().probe(1, body).probe(9, body)
    result = run_check("leaks", h.frames(), SCENARIO)
    assert (result.metrics["peak_app_sockets"], result.metrics["peak_glasses_sockets"],
            result.metrics["leaked_subscriptions"]) == (1, 1, 0)


def _rerun(asked: bool) -> Synth:
    h = Synth().glasses_up(USER, 1, at=0.0)
    h.add(0.1, "glasses-0", "app_state", "ok", USER, conn=1, loading="com.a", active="")
    h.add(0.2, "glasses-0", "app_state", "ok", USER, conn=1, loading="", active="")
    if asked:
        h.add(1.0, "glasses-0", "start_app", "invoke", USER, conn=1, package="com.a")
    return h.add(1.1, "glasses-0", "app_state", "ok", USER, conn=1, loading="com.a", active="")


def test_an_app_back_in_loading_without_a_start_app_counts_as_a_rerun_start():
    result = lifecycle(_rerun(asked=False))
    assert result.metrics["starts_rerun"] == 1
    assert any("the cloud ran the start again" in e.detail for e in result.examples)


def test_an_app_back_in_loading_after_the_glasses_asked_is_not_a_rerun():
    assert lifecycle(_rerun(asked=True)).metrics["starts_rerun"] == 0
