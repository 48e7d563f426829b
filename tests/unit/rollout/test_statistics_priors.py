"""The tuned priors and alpha split, and resuming a stored test across an operator upgrade."""

import math
from datetime import timedelta

import pytest
from codemode_operator.rollout import statistics, verdict
from codemode_operator.rollout.status import RolloutStatus

from .world import World


def test_known_answer_for_the_errors_prior() -> None:
    # s = 1/2, two v2 errors and none from v1: LR(θ) = (2θ/(θ+1))² at each prior point.
    sums = statistics.log_likelihood_ratios(2, 0, 0.5, 1.0, verdict.ERRORS.prior)
    expected = 0.5 * (3.4 / 2.7) ** 2 + 0.5 * (4.2 / 3.1) ** 2
    assert math.exp(statistics.log_e_value(sums, verdict.ERRORS.prior)) == pytest.approx(expected)


def test_the_alpha_shares_add_up_to_one() -> None:
    assert verdict.ERRORS.alpha_share + verdict.INFRA_ERRORS.alpha_share == pytest.approx(1.0)
    assert verdict.ERRORS.threshold(0.01) == pytest.approx(1 / 0.0095)
    assert verdict.INFRA_ERRORS.threshold(0.01) == pytest.approx(2000)


def test_a_new_record_resumes_and_round_trips() -> None:
    status = RolloutStatus(analysis=verdict.new_record(0.01, 0.0))
    assert verdict.resumes(status.analysis)
    assert RolloutStatus.model_validate(status.to_dict()) == status


def old_status(world: World) -> dict:
    """The status as an operator with the older 4-point errors prior would have stored it."""
    stored = world.status.to_dict()
    stored["analysis"]["errors"]["logLikelihoodRatios"] = [3.0, 3.5, 3.2, 1.0]
    return stored


def test_sums_of_an_older_prior_restart_the_test_instead_of_failing() -> None:
    world = World(rate=1000, canary_error_rate=0.01, stable_error_rate=0.01)
    world.run(timedelta(minutes=3))
    world.status = RolloutStatus.model_validate(old_status(world))
    assert not verdict.resumes(world.status.analysis)
    world.run(timedelta(minutes=1))
    assert "AnalysisRestarted" in world.reasons()
    assert verdict.resumes(world.status.analysis)
    assert world.status.phase == "Progressing"
