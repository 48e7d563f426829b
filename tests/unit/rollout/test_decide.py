from datetime import timedelta
from itertools import pairwise

import pytest
from codemode_operator.rollout import (
    ClearRequest,
    DeploymentState,
    Emit,
    GateJob,
    Observations,
    RolloutStatus,
    RunGateJob,
    ScaleStable,
    SetPins,
    SetWeight,
    decide,
)

from .world import PROMETHEUS, World, make_spec, ready

MIN = timedelta(minutes=1)


def started(**kwargs: object) -> World:
    return World(**kwargs).start()


def test_full_walk_with_dwells() -> None:
    world = started()
    assert world.status.phase == "Progressing"
    assert world.weights() == [5]
    world.run(timedelta(minutes=29))
    assert world.status.step == "1/4" and world.status.step_remaining == "1m"
    world.run_until("Succeeded")
    assert world.weights() == [5, 25, 50, 100]
    assert world.now - world.status.history[1].time >= timedelta(hours=3, minutes=30)
    starts = [h.time for h in world.status.history if h.reason in ("StepStarted", "Succeeded")]
    dwells = [b - a for a, b in pairwise(starts)]
    assert dwells[0] >= timedelta(minutes=30) and dwells[1] >= timedelta(hours=1)
    assert dwells[2] >= timedelta(hours=2)
    world.run(timedelta(hours=5))
    assert world.status.phase == "Succeeded" and world.weights() == [5, 25, 50, 100]
    assert world.condition("Progressing") == ("False", "Succeeded")


def test_without_analysis_steps_advance_on_time_and_readiness_alone() -> None:
    world = started(spec=make_spec(analysis=None), rate=0)
    world.run_until("Succeeded")
    assert world.weights() == [5, 25, 50, 100]
    # Each later step starts one tick (here a minute) after its weight is written: at the
    # tick that reads it back from the router.
    assert world.now - world.status.history[1].time == timedelta(hours=3, minutes=30) + 3 * MIN


def test_replicas_router_starts_v2_from_zero_pods() -> None:
    # v2 has no pods until the router gives it its first weight: that is not "not Ready".
    router = {"type": "replicas", "replicas": {"total": 10}}
    world = started(spec=make_spec(router=router), canary=DeploymentState(desired_replicas=0))
    assert world.status.phase == "Progressing" and world.weights() == [5]


def test_set_weight_is_never_repeated_and_only_when_the_router_differs() -> None:
    world = started()
    world.run(timedelta(minutes=10))
    assert world.weights() == [5]
    world.router_weight = 40  # someone edited the HTTPRoute by hand
    assert SetWeight(5) in world.tick()
    assert not any(isinstance(a, SetWeight) for a in world.tick())


def test_waits_for_ready_v2_then_rolls_back_at_the_progress_deadline() -> None:
    world = started(canary=DeploymentState(desired_replicas=2, revision="r1"))
    assert world.status.phase == "Pending" and world.weights() == []
    world.run(timedelta(minutes=5))
    assert world.condition("Healthy") == ("False", "NotReady")
    world.canary = ready()
    world.tick()
    assert world.status.phase == "Progressing"
    world.canary = DeploymentState(desired_replicas=2, available_replicas=1, revision="r1")
    world.run(timedelta(minutes=10))  # not Ready from the first of these minutes on
    assert world.status.phase == "Progressing"
    world.run(timedelta(minutes=1))
    assert world.status.phase == "RolledBack"
    assert world.status.history[-1].reason == "ProgressDeadlineExceeded"
    assert world.weights() == [5, 0]


def test_v2_not_ready_holds_the_step() -> None:
    world = started()
    world.run(timedelta(minutes=29))
    world.canary = DeploymentState(desired_replicas=2, available_replicas=1, revision="r1")
    world.run(timedelta(minutes=5))
    assert world.status.step == "1/4"
    world.canary = ready()
    world.tick()
    assert world.status.step == "2/4"


def test_regression_rolls_back_with_weight_first() -> None:
    world = started(rate=1000, canary_error_rate=0.10, stable_error_rate=0.01)
    world.run_until("RolledBack", limit=timedelta(minutes=30))
    first, second, third = world.last_actions[:3]
    # Weight 0 and v2's pin gone in the same tick: v2's conversations move to v1 at once.
    assert (first, second) == (SetWeight(0), SetPins(("v1",)))
    assert isinstance(third, Emit) and third.type == "Warning"
    assert world.condition("RolledBack") == ("True", "AnalysisFailed")
    assert world.status.analysis.errors.verdict == "Fail"
    assert world.status.analysis.errors.p_value < 0.01
    world.run(timedelta(hours=1))
    assert world.status.phase == "RolledBack" and world.weights() == [5, 0]


def test_insufficient_data_holds_after_the_dwell() -> None:
    world = started(rate=20)  # 1 v2 request a minute at 5%: 30 after the dwell
    world.run(timedelta(minutes=31))
    assert world.status.step == "1/4"
    assert world.condition("Progressing") == ("True", "WaitingForData")
    world.rate = 20_000
    world.run(timedelta(minutes=2))
    assert world.status.step == "2/4"


def test_no_traffic_at_all_never_passes() -> None:
    world = started(rate=0)
    world.run(timedelta(hours=5))
    assert world.status.step == "1/4"
    assert world.status.analysis.verdict == "Inconclusive"


@pytest.mark.parametrize(("action", "phase"), [("Hold", "Progressing"), ("Rollback", "RolledBack")])
def test_metrics_unavailable_holds_then_follows_the_policy(action: str, phase: str) -> None:
    world = started(
        spec=make_spec(
            analysis={
                "prometheus": PROMETHEUS,
                "onMetricsUnavailable": {"after": "10m", "action": action},
            }
        )
    )
    world.run(timedelta(minutes=25))
    world.metrics_down = "connection refused"
    world.run(timedelta(minutes=9))
    assert world.status.phase == "Progressing" and world.status.step == "1/4"
    assert world.condition("AnalysisPassing") == ("Unknown", "MetricsUnavailable")
    world.run(timedelta(minutes=2))
    assert world.status.phase == phase
    assert world.status.step == "1/4"  # trouble with Prometheus never promotes
    if action == "Hold":
        world.metrics_down = None
        world.run(timedelta(minutes=2))
        assert world.status.step == "2/4"
        assert "MetricsRecovered" in world.reasons()


def test_the_window_across_a_prometheus_outage_is_dropped() -> None:
    world = started()
    world.run(timedelta(minutes=5))
    before = world.status.analysis.canary_total.requests
    world.metrics_down = "connection refused"
    world.run(timedelta(minutes=5))
    world.metrics_down = None
    world.run(MIN)  # recovery: the 6-minute window across the gap is not judged
    assert world.status.analysis.canary_total.requests == before
    assert world.status.analysis.metrics_unavailable_since is None
    world.run(MIN)  # the next, clean interval is
    assert world.status.analysis.canary_total.requests > before


def test_manual_step_waits_for_promote() -> None:
    steps = [{"weight": 10, "pause": {"untilApproved": True}}, {"weight": 100}]
    world = started(spec=make_spec(steps=steps))
    world.run(timedelta(hours=3))
    assert world.condition("Progressing") == ("True", "WaitingForApproval")
    world.request = "promote"
    actions = world.tick()
    world.tick()  # 100% read back from the router
    assert world.status.phase == "Succeeded" and world.weights() == [10, 100]
    assert world.status.last_request.name == "promote"
    assert world.status.last_request.outcome == "Applied"
    assert ClearRequest() in actions


def test_promote_on_a_timed_step_is_refused() -> None:
    world = started()
    world.request = "promote"
    actions = world.tick()
    refusal = next(a for a in actions if isinstance(a, Emit) and a.reason == "RequestRefused")
    assert refusal.type == "Warning" and "does not wait for approval" in refusal.message
    assert ClearRequest() in actions and world.status.last_request.outcome == "Refused"


def test_skip_ends_the_dwell_but_not_the_analysis() -> None:
    world = started()
    world.run(timedelta(minutes=5))
    world.request = "skip"
    world.tick()
    assert world.status.step == "2/4"
    world.rate = 100  # 25 v2 requests a minute at 25%: 200 take 8 minutes
    world.tick()  # sees the annotation gone
    world.request = "skip"
    world.tick()
    assert world.status.step == "2/4"
    assert world.condition("Progressing") == ("True", "WaitingForData")
    world.run(timedelta(minutes=9))
    assert world.status.step == "3/4"


def test_stale_request_is_applied_once() -> None:
    world = started()
    world.run(timedelta(minutes=5))
    world.request = "skip"
    world.tick()
    world.request = "skip"  # the operator died before removing it
    actions = world.tick()
    assert [a for a in actions if not isinstance(a, Emit)] == [ClearRequest()]
    assert world.status.step == "2/4"
    world.tick()  # annotation gone: the record is marked cleared
    assert world.status.last_request.cleared
    world.run(timedelta(minutes=10))
    world.request = "skip"  # a new request with the same value is applied again
    world.tick()
    assert world.status.step == "3/4"


def test_pause_keeps_the_remaining_dwell() -> None:
    world = started()
    world.run(timedelta(minutes=20))
    world.spec = make_spec(paused=True)
    world.tick()
    assert world.status.phase == "Paused" and world.condition("Paused") == ("True", "PausedBySpec")
    world.run(timedelta(hours=3))
    assert world.status.step == "1/4"
    world.spec = make_spec()
    world.tick()
    assert world.status.phase == "Progressing" and world.status.step_remaining == "10m"
    world.run(timedelta(minutes=10))
    assert world.status.step == "2/4"


def test_pause_does_not_stop_a_rollback() -> None:
    world = started(canary_error_rate=0.2, stable_error_rate=0.01)
    world.spec = make_spec(paused=True)
    world.tick()
    world.run_until("RolledBack", limit=timedelta(minutes=30))


def test_abort_then_retry() -> None:
    world = started()
    world.run(timedelta(minutes=40))
    world.request = "abort"
    actions = world.tick()
    assert actions[0] == SetWeight(0)
    assert world.status.phase == "Aborted" and world.condition("RolledBack")[0] == "True"
    world.request = "retry"
    world.tick()
    assert world.status.phase == "Progressing" and world.status.step == "1/4"
    assert world.status.attempt == 2 and world.status.analysis.canary_total.requests == 0
    assert world.weights() == [5, 25, 0, 5]


def test_retry_while_progressing_is_refused() -> None:
    world = started()
    world.request = "retry"
    world.tick()
    assert world.status.last_request.outcome == "Refused"
    assert world.status.attempt == 1


def test_gates_run_before_the_weight_and_a_failed_gate_rolls_back() -> None:
    gate = {"name": "smoke", "job": {"template": {"spec": {}}}}
    steps = [
        {"weight": 5, "pause": {"duration": "10m"}},
        {"weight": 50, "gates": [gate]},
        {"weight": 100},
    ]
    world = started(spec=make_spec(steps=steps))
    world.run(timedelta(minutes=10))
    assert RunGateJob(step=1, index=0, attempt=1, job=gate["job"]) in world.log
    world.gates = (GateJob(step=1, index=0, result="Running"),)
    world.run(timedelta(minutes=3))
    assert world.status.step == "1/3" and world.condition("Progressing")[1] == "WaitingForGates"
    world.gates = (GateJob(step=1, index=0, result="Failed"),)
    world.tick()
    assert world.status.phase == "RolledBack" and world.weights() == [5, 0]


def test_scale_down_stable_once_after_success_and_abort_restores_it() -> None:
    world = started(spec=make_spec(steps=[{"weight": 100}], scaleDownStable={"after": "1h"}))
    assert world.status.phase == "Succeeded"
    world.run(timedelta(hours=2))
    assert [a for a in world.log if isinstance(a, ScaleStable)] == [ScaleStable("mcp-v1", 0)]
    world.request = "abort"
    actions = world.tick()
    assert ScaleStable("mcp-v1", 2) in actions and SetWeight(0) not in actions  # v1 has no pods yet
    world.tick()
    assert world.router_weight == 100
    world.stable = ready()
    assert world.tick()[0] == SetWeight(0)


def test_scale_down_stable_can_be_turned_off() -> None:
    policy = {"enabled": False}
    world = started(spec=make_spec(steps=[{"weight": 100}], scaleDownStable=policy))
    world.run(timedelta(days=30), every=timedelta(hours=1))
    assert not [a for a in world.log if isinstance(a, ScaleStable)]


def test_new_canary_revision_restarts_from_step_one() -> None:
    world = started()
    world.run(timedelta(minutes=40))
    world.canary = ready(revision="r2")  # already Ready: straight back to step 1's weight
    assert world.tick()[0] == SetWeight(5)
    assert world.status.attempt == 2 and world.status.step == "1/4"
    assert world.status.analysis.canary_total.requests == 0


def test_new_canary_revision_while_not_ready_goes_to_zero() -> None:
    world = started()
    world.run(timedelta(minutes=40))
    world.canary = DeploymentState(desired_replicas=2, revision="r2")
    assert world.tick()[0] == SetWeight(0)
    assert world.status.phase == "Pending" and world.status.attempt == 2


def test_new_canary_revision_after_rollback_starts_a_new_rollout() -> None:
    world = started(rate=1000, canary_error_rate=0.2, stable_error_rate=0.01)
    world.run_until("RolledBack", limit=timedelta(minutes=30))
    world.canary_error_rate = 0.01
    world.canary = ready(revision="r2")
    world.tick()
    assert world.status.phase == "Progressing" and world.status.attempt == 2


def test_new_steps_apply_from_the_current_index() -> None:
    world = started()
    world.run(timedelta(minutes=31))
    assert world.status.step == "2/4"
    world.spec = make_spec(
        steps=[
            {"weight": 5, "pause": {"duration": "1m"}},
            {"weight": 30, "pause": {"duration": "5m"}},
            {"weight": 60, "pause": {"duration": "5m"}},
            {"weight": 100},
        ]
    )
    world.generation = 2
    world.tick()
    assert world.status.step == "2/4" and world.router_weight == 30
    world.run(timedelta(minutes=6))  # the 5m dwell from the read-back of 30%
    assert world.status.step == "3/4"


def test_shorter_steps_never_jump_to_the_last_one() -> None:
    world = started()
    world.run(timedelta(minutes=100))
    assert world.status.step == "3/4"
    world.spec = make_spec(steps=[{"weight": 25, "pause": {"duration": "10m"}}, {"weight": 100}])
    world.generation = 2
    world.tick()
    assert world.status.step == "1/2" and world.router_weight == 25
    world.run_until("Succeeded")


def test_resuming_from_a_round_tripped_status_gives_the_same_decision() -> None:
    world = started(rate=500, canary_error_rate=0.012, stable_error_rate=0.01)
    for _ in range(50):
        world.now += MIN
        observations = world.observations()
        direct = decide(world.spec, world.status, observations, world.now)
        restored = RolloutStatus.model_validate(world.status.to_dict())
        again = decide(world.spec, restored, observations, world.now)
        assert again.actions == direct.actions
        assert again.status.to_dict() == direct.status.to_dict()
        world.tick()


def test_a_restarted_operator_keeps_the_step_and_its_deadline() -> None:
    world = started()
    world.run(timedelta(minutes=45))
    ends = world.status.step_ends_at
    world.status = RolloutStatus.model_validate(world.status.to_dict())
    world.now += timedelta(minutes=20)  # the operator was down
    world.tick()
    assert world.status.step == "2/4" and world.status.step_ends_at == ends
    assert world.weights() == [5, 25]


def test_history_keeps_the_last_twenty() -> None:
    world = started()
    for _ in range(15):
        world.spec = make_spec(paused=True)
        world.tick()
        world.spec = make_spec()
        world.tick()
    assert len(world.status.history) == 20
    assert world.status.history[-1].reason == "Resumed"


def test_status_dict_is_camel_case_without_nones() -> None:
    data = started().status.to_dict()
    assert {"stepIndex", "stepStartedAt", "canaryWeight", "observedGeneration"} <= data.keys()
    assert "pausedAt" not in data and "history" in data and "from" in data["history"][0]
    assert Observations(generation=1).metrics is None


def test_without_analysis_the_status_has_no_analysis_block_and_no_verdict() -> None:
    world = started(spec=make_spec(analysis=None))
    assert world.status.verdict == "-"
    assert "analysis" not in world.status.to_crd(analysed=False)
    analysed = started()
    assert analysed.status.verdict == "Inconclusive"
    assert analysed.status.to_crd(analysed=True)["analysis"]["verdict"] == "Inconclusive"


def test_a_short_dwell_changes_nothing_in_the_status_from_its_start_to_its_end() -> None:
    """Every tick of a 20 s dwell (here each second) leaves the stored status as it is: the
    time left is shown to 30 s, so no tick writes a status while it dwells."""
    steps = [{"weight": w, "pause": {"duration": "20s"}} for w in (5, 25)] + [{"weight": 100}]
    world = started(spec=make_spec(analysis=None, steps=steps))
    assert world.status.step_remaining == "30s"
    stored = world.status.to_crd(analysed=False)
    ends = world.status.step_ends_at
    assert ends is not None
    while world.now + timedelta(seconds=1) < ends:
        world.now += timedelta(seconds=1)
        assert world.tick() == ()
        assert world.status.to_crd(analysed=False) == stored
