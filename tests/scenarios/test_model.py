"""The scenario model: validation naming the field, timeline expansion, time scaling."""

from __future__ import annotations

import math

import pytest

from wsquake.faults.client import Bandwidth, Latency, Stream, Timeout, WsDrop
from wsquake.scenarios import (
    ActionPhase,
    CheckSpec,
    CloudSpec,
    Direction,
    Down,
    FaultStep,
    FleetSpec,
    Link,
    ProcessAction,
    ProcessStep,
    Scenario,
    ScenarioError,
    scale_toxic,
)


def scenario(**changes) -> Scenario:
    fields = {"name": "demo", "description": "a demo"}
    fields.update(changes)
    return Scenario(**fields)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: scenario(name="Bad_Name"), "name: lowercase"),
    (lambda: scenario(name="a--b"), "name: lowercase"),
    (lambda: scenario(description=" "), "description: must be a non-empty string"),
    (lambda: scenario(time_scale=0), "time_scale: must be > 0, got 0"),
    (lambda: scenario(recovery_window_s=-1), "recovery_window_s: must be > 0, got -1"),
    (lambda: scenario(warmup_s=math.inf), "warmup_s: must be finite"),
    (lambda: scenario(steps=("x",)), "steps[0]: must be a FaultStep or ProcessStep"),
    (lambda: FaultStep(Link.APP, Down(), at_s=1, duration_s=-1),
     "FaultStep.duration_s: must be > 0, got -1"),
    (lambda: FaultStep("nope-link", Down(), at_s=1, duration_s=1),
     "FaultStep.link: expected one of glasses-link | app-link | webhook-link"),
    (lambda: FaultStep(Link.APP, "latency", at_s=1, duration_s=1), "FaultStep.toxic"),
    (lambda: FaultStep(Link.APP, Down(), at_s=1, duration_s=1, toxicity=2),
     "FaultStep.toxicity: must be between 0 and 1"),
    (lambda: FaultStep(Link.APP, Down(), at_s=1, duration_s=1, repeat=3),
     "FaultStep.every_s: required when repeat > 1"),
    (lambda: FaultStep(Link.APP, Down(), at_s=1, duration_s=2, repeat=3, every_s=2),
     "FaultStep.every_s: must be > duration_s=2"),
    (lambda: FaultStep(Link.APP, Down(), at_s=1, duration_s=1, direction="sideways"),
     "FaultStep.direction: expected one of upstream | downstream | both"),
    (lambda: ProcessStep("db", "kill", at_s=1), "ProcessStep.target: expected one of"),
    (lambda: ProcessStep("cloud", "pause", at_s=1), "ProcessStep.duration_s: a pause needs"),
    (lambda: FleetSpec(users=0), "fleet.users: must be >= 1, got 0"),
    (lambda: FleetSpec(users=1.5), "fleet.users: must be an integer"),
    (lambda: FleetSpec(streams=()), "fleet.streams: must not be empty"),
    (lambda: FleetSpec(streams="head_position"), "fleet.streams: must be a tuple"),
    (lambda: FleetSpec(apps_per_user=2, packages=("a",)), "fleet.packages: must name"),
    (lambda: FleetSpec(glasses_policy="nokia"), "fleet.glasses_policy"),
    (lambda: CloudSpec(timings={"app_grace": 5}), "cloud.timings.app_grace: unknown timing"),
    (lambda: CloudSpec(timings={"app_grace_s": -5}), "cloud.timings.app_grace_s: must be >= 0"),
    (lambda: CloudSpec(timings={"webhook_attempts": 0}), "cloud.timings.webhook_attempts"),
    (lambda: CloudSpec(defects=("nope",)), "cloud.defects[0]: unknown defect 'nope'"),
    (lambda: CloudSpec(profile="buggy"), "cloud.profile"),
    (lambda: CheckSpec("speed"), "checks: unknown check 'speed'"),
    (lambda: CheckSpec.of("recovery", "delivery.lost == 0"), "is about check 'delivery'"),
    (lambda: CheckSpec.of("recovery", "recovery.rate >= x"),
     "checks[recovery].thresholds[0]: threshold"),
    (lambda: scenario(checks=(CheckSpec("leaks"), CheckSpec("leaks"))),
     "checks[1].name: duplicate check 'leaks'"),
    (lambda: scenario(steps=(FaultStep(Link.APP, Down(), at_s=1, duration_s=1, name="x"),
                             FaultStep(Link.APP, Down(), at_s=5, duration_s=1, name="x"))),
     "steps[1].name: duplicate step name 'x'"),
    (lambda: scenario(steps=(ProcessStep("cloud", "restart", at_s=1, duration_s=5),
                             ProcessStep("cloud", "kill", at_s=3))),
     "steps[1].at_s: overlaps steps[0]"),
])
def test_model_rejects_bad_values_naming_the_field(build, message) -> None:
    with pytest.raises(ScenarioError) as info:
        build()
    assert message in str(info.value)


def test_timeline_expands_flapping_and_orders_ends_before_starts() -> None:
    s = scenario(steps=(
        FaultStep(Link.APP, Down(), at_s=1, duration_s=1, repeat=3, every_s=2, name="flap"),
        FaultStep(Link.GLASSES, Latency(100), at_s=3, duration_s=4),
        ProcessStep("cloud", "kill", at_s=10),
    ))
    got = [(a.at_s, a.phase, a.fault, a.window) for a in s.timeline()]
    assert got == [
        (1.0, ActionPhase.START, "flap", 0),
        (2.0, ActionPhase.END, "flap", 0),
        (3.0, ActionPhase.START, "flap", 1),
        (3.0, ActionPhase.START, "1-glasses-link-latency", 0),
        (4.0, ActionPhase.END, "flap", 1),
        (5.0, ActionPhase.START, "flap", 2),
        (6.0, ActionPhase.END, "flap", 2),
        (7.0, ActionPhase.END, "1-glasses-link-latency", 0),
        (10.0, ActionPhase.START, "2-cloud-kill", 0),  # a kill that never restarts: no end
    ]
    assert s.timeline()[0].target == "app-link" and s.timeline()[-1].target == "cloud"


def test_duration_adds_warmup_timeline_recovery_and_quiesce() -> None:
    s = scenario(warmup_s=5, recovery_window_s=20, quiesce_s=3,
                 steps=(FaultStep(Link.APP, Down(), at_s=2, duration_s=4),))
    assert s.faults_end_s() == 6
    assert s.recovery_deadline_s() == 26
    assert s.duration_s() == 5 + 26 + 3


def test_quiesce_defaults_to_what_the_cloud_needs_to_dispose() -> None:
    # max(glasses grace 60, app grace 5 + start 5 + stop webhook 10, pong 30 + ping 10) + 1
    assert scenario().resolved_quiesce_s() == 61
    short = scenario(cloud=CloudSpec(timings={"glasses_grace_s": 2, "pong_deadline_s": 0}))
    assert short.resolved_quiesce_s() == 5 + 5 + 10 + 1


def test_scaled_changes_only_the_time_scale_and_wall_times_follow() -> None:
    s = scenario(steps=(FaultStep(Link.APP, Down(), at_s=2, duration_s=4),))
    fast = s.scaled(0.1)
    assert fast.steps == s.steps and fast.time_scale == 0.1
    assert fast.wall_s(fast.duration_s()) == pytest.approx(s.duration_s() * 0.1)
    assert fast.timings().scaled("app_grace_s") == pytest.approx(0.5)


def test_fault_step_makes_one_scaled_toxic_per_direction() -> None:
    step = FaultStep(Link.APP, Latency(1000, jitter=100), at_s=0, duration_s=1, toxicity=0.5)
    toxics = step.toxics(time_scale=0.1)
    assert [(t.stream, t.latency, t.jitter, t.toxicity) for t in toxics] == [
        (Stream.UPSTREAM, 100, 10, 0.5), (Stream.DOWNSTREAM, 100, 10, 0.5)]
    assert len({t.name for t in toxics}) == 2
    one = FaultStep(Link.APP, Latency(10), at_s=0, duration_s=1, direction=Direction.UPSTREAM)
    assert [t.stream for t in one.toxics()] == [Stream.UPSTREAM]
    assert FaultStep(Link.APP, Down(), at_s=0, duration_s=1).toxics() == ()


def test_scale_toxic_keeps_zero_meaning_forever_and_speeds_up_bandwidth() -> None:
    assert scale_toxic(Timeout(0), 0.01).timeout == 0
    assert scale_toxic(Timeout(10), 0.01).timeout == 1
    assert scale_toxic(Bandwidth(rate=10), 0.5).rate == 20
    assert scale_toxic(WsDrop(probability=0.5), 0.1) == WsDrop(probability=0.5)


def test_fleet_derives_names_with_and_without_hyphens() -> None:
    plain = FleetSpec(users=2, apps_per_user=2)
    assert plain.package_names() == ("com.wsquake.app1", "com.wsquake.app2")
    assert plain.user_ids() == ("user-0001@example.com", "user-0002@example.com")
    hy = FleetSpec(users=1, hyphenated=True)
    assert "-" in hy.package_names()[0] and "-" in hy.user_ids()[0].split("@")[1]
    assert FleetSpec(users=3, apps_per_user=2).sessions == 6


def test_cloud_spec_splits_cloud_and_sdk_defects_and_reads_timings() -> None:
    c = CloudSpec(timings={"app_grace_s": 2}, defects=("drop_during_grace",
                                                       "sdk.legacy_session_map"))
    assert c.cloud_defects() == ("drop_during_grace",)
    assert c.sdk_defects() == ("legacy_session_map",)
    assert (c.timing("app_grace_s"), c.timing("glasses_grace_s")) == (2.0, 60.0)


def test_scenario_accepts_lists_and_string_enums() -> None:
    s = scenario(steps=[FaultStep("app-link", Down(), at_s=0, duration_s=1,
                                  direction="upstream")],
                 checks=[CheckSpec.of("recovery")])
    assert isinstance(s.steps, tuple) and s.steps[0].link is Link.APP
    assert s.steps[0].direction is Direction.UPSTREAM
    assert s.check("recovery") is not None and s.check("leaks") is None
    assert ProcessStep("apps", "restart", at_s=1).action is ProcessAction.RESTART
