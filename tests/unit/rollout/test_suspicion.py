"""A step whose dwell is over holds while v2 leans worse, up to `holdOnSuspicion.maxDuration`."""

from datetime import timedelta

import pytest
from codemode_operator.apis.status import MetricAnalysis
from codemode_operator.rollout import suspicion

from .world import World, make_spec

STEPS = [
    {"weight": 5, "pause": {"duration": "10m"}},
    {"weight": 25, "pause": {"duration": "10m"}},
    {"weight": 50, "pause": {"duration": "10m"}},
    {"weight": 100},
]


def leaning_worse(**hold: object) -> World:
    """At the end of step 2's dwell the errors test has e ≈ 13: suspect, far from 105.

    No errors at 5%; at 25%, v2 has 2 errors a minute against v1's 3 (twice v1's rate):
    +0.26 nats a minute."""
    analysis = {"prometheus": {"address": "http://prometheus:9090"}, "holdOnSuspicion": hold}
    world = World(spec=make_spec(steps=STEPS, analysis=analysis)).start()
    world.run(timedelta(minutes=11))
    assert world.status.step == "2/4"
    world.canary_error_rate, world.stable_error_rate = 0.008, 0.004
    world.run(timedelta(minutes=9))
    world.run(timedelta(minutes=1))
    assert world.status.step == "2/4", "held at the end of the dwell"
    assert world.condition("Progressing") == ("True", "SuspectedRegression")
    assert 2 <= world.status.analysis.errors.e_value < world.status.analysis.errors.threshold
    world.run(timedelta(minutes=2))
    assert world.reasons().count("SuspectedRegression") == 1, "one Warning event per hold"
    return world


def test_the_hold_ends_in_a_rollback_when_the_evidence_keeps_growing() -> None:
    world = leaning_worse()
    world.run_until("RolledBack", limit=timedelta(minutes=40))
    assert world.weights() == [5, 25, 0], "never widened to 50% while suspect"


def test_the_step_advances_once_the_evidence_fades() -> None:
    world = leaning_worse()
    world.canary_error_rate = 0.004  # v2 now as good as v1: e falls back under 2
    for _ in range(30):
        world.run(timedelta(minutes=1))
        if world.status.step == "3/4":
            break
    assert world.status.step == "3/4"
    assert world.status.analysis.errors.e_value < 2


def test_the_hold_gives_up_after_its_max_duration() -> None:
    world = leaning_worse(maxDuration="15m")
    world.canary_error_rate = world.stable_error_rate = 0.0  # no new evidence either way
    world.run(timedelta(minutes=11))  # 14 of the 15 minutes held
    assert world.status.step == "2/4"
    world.run(timedelta(minutes=2))
    assert world.status.step == "3/4" and world.status.phase == "Progressing"


def test_skip_overrides_the_hold() -> None:
    world = leaning_worse()
    world.request = "skip"
    world.tick()
    assert world.status.step == "3/4"


@pytest.mark.parametrize(("from_step", "held"), [(1, True), (2, False)])
def test_the_first_step_holds_only_when_asked(from_step: int, held: bool) -> None:
    analysis = {
        "prometheus": {"address": "http://prometheus:9090"},
        "holdOnSuspicion": {"fromStep": from_step},
    }
    # At 5%: v2 with 1 error a minute against v1's 10, twice v1's rate.
    world = World(
        spec=make_spec(steps=STEPS, analysis=analysis),
        canary_error_rate=0.02,
        stable_error_rate=0.01,
    ).start()
    world.run(timedelta(minutes=11))
    assert world.status.analysis.errors.e_value >= 2
    assert (world.status.step == "1/4") is held


def test_a_higher_level_or_no_analysis_means_no_hold() -> None:
    world = World(spec=make_spec(steps=STEPS, analysis=None)).start()
    world.run(timedelta(minutes=21))
    assert world.status.step == "3/4"
    assert suspicion.suspect(MetricAnalysis(log_e_value=0.6), MetricAnalysis(), 2.0) is None
    found = suspicion.suspect(MetricAnalysis(log_e_value=0.7), MetricAnalysis(), 2.0)
    assert found is not None and found[0] == "errors"
