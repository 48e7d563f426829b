"""`plan`: what a tick must fetch, from the spec and status alone, on a fake clock."""

from datetime import timedelta

from codemode_operator.apis.status import Applying, RolloutStatus
from codemode_operator.rollout import Plan, WeightReading, Window, plan

from .world import T0, make_spec

STEPS = [{"weight": 5, "pause": {"duration": "10m"}}, {"weight": 25}, {"weight": 100}]
GATE = {"name": "smoke", "job": {"template": {"spec": {}}}}
MIN = timedelta(minutes=1)


def _at_step(index: int, started: timedelta) -> RolloutStatus:
    """Progressing at step `index`, its weight shown since `started` before T0."""
    status = RolloutStatus(phase="Progressing", step_index=index, step_started_at=T0 - started)
    status.analysis.window_start = T0 - started
    return status


def test_a_new_rollout_fetches_no_counts_and_verifies_v1_alone() -> None:
    assert plan(make_spec(steps=STEPS), RolloutStatus(), T0) == Plan(None, False, 0)


def test_the_weight_to_verify_is_the_entered_steps_from_its_decision_on() -> None:
    spec = make_spec(steps=STEPS)
    applying = RolloutStatus(phase="Progressing", step_index=1)
    applying.applying = Applying(since=T0, from_="5%")
    assert plan(spec, applying, T0).weight == 25  # wanted, not yet shown
    assert plan(spec, _at_step(0, MIN), T0).weight == 5
    assert plan(spec, RolloutStatus(phase="Succeeded", step_index=2), T0).weight == 100
    assert plan(spec, RolloutStatus(phase="RolledBack", step_index=1), T0).weight == 0


def test_counts_are_fetched_once_an_interval_has_passed_since_the_window_started() -> None:
    spec = make_spec(steps=STEPS)  # the analysis' interval: 1m
    status = _at_step(0, timedelta(seconds=30))
    assert plan(spec, status, T0).window is None
    assert plan(spec, status, T0 + timedelta(seconds=30)).window == Window(
        T0 - timedelta(seconds=30), T0 + timedelta(seconds=30)
    )
    assert plan(make_spec(steps=STEPS, analysis=None), status, T0 + MIN).window is None
    assert plan(spec, RolloutStatus(phase="Succeeded"), T0 + MIN).window is None


def test_gate_jobs_are_listed_when_any_step_has_gates() -> None:
    gated = [STEPS[0], {"weight": 25, "gates": [GATE]}, STEPS[2]]
    assert plan(make_spec(steps=gated), RolloutStatus(), T0).gates
    assert not plan(make_spec(steps=STEPS), RolloutStatus(), T0).gates


def test_steps_shortened_past_the_index_verify_the_weight_last_wanted() -> None:
    status = _at_step(2, MIN)
    status.canary_weight = 50
    spec = make_spec(steps=[{"weight": 25}, {"weight": 100}])  # was 4 steps, at the third
    assert plan(spec, status, T0).weight == 50


def test_a_reading_answers_for_its_weight_and_stands_in_with_what_it_shows_for_another() -> None:
    # A ratio of 4 pods verified for 5%: one v2 pod, which is 25% of the pods.
    reading = WeightReading(desired=5, verified=True, shown=25)
    assert reading.realises(5) and reading.realises(25) and not reading.realises(50)
    assert not WeightReading(desired=5, verified=False, shown=5).realises(5)
    assert WeightReading(desired=5, verified=False, shown=0).realises(0)  # a rollback's weight
