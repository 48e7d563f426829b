"""The tuned priors and alpha split, and resuming a stored test across an operator upgrade."""

import math
from collections.abc import Callable
from datetime import timedelta

import pytest
from codemode_operator.apis.status import RolloutStatus
from codemode_operator.rollout import evalues, verdict

from .world import World


def test_known_answer_for_the_errors_prior() -> None:
    # s = 1/2, two v2 errors and none from v1: LR(θ) = (2θ/(θ+1))² at each prior point.
    sums = evalues.log_likelihood_ratios(2, 0, 0.5, 1.0, verdict.ERRORS.prior)
    expected = 0.5 * (3.8 / 2.9) ** 2 + 0.5 * (4.8 / 3.4) ** 2
    assert math.exp(evalues.log_e_value(sums, verdict.ERRORS.prior)) == pytest.approx(expected)


def test_the_alpha_shares_add_up_to_one() -> None:
    assert verdict.ERRORS.alpha_share + verdict.INFRA_ERRORS.alpha_share == pytest.approx(1.0)
    assert verdict.ERRORS.threshold(0.01) == pytest.approx(1 / 0.0095)
    assert verdict.INFRA_ERRORS.threshold(0.01) == pytest.approx(2000)


def test_a_new_record_resumes_and_round_trips() -> None:
    status = RolloutStatus(analysis=verdict.new_record(0.01, 0.0))
    assert verdict.resumes(status.analysis)
    assert RolloutStatus.model_validate(status.to_dict()) == status


def four_point_prior(stored: dict) -> None:
    """As an operator with an older 4-point errors prior (and no `priorRatios`) stored it."""
    stored["analysis"]["errors"].pop("priorRatios")
    stored["analysis"]["errors"]["logLikelihoodRatios"] = [3.0, 3.5, 3.2, 1.0]


def same_length_prior(stored: dict) -> None:
    """As an operator whose 2-point prior had other points stored it."""
    stored["analysis"]["errors"]["priorRatios"] = [1.7, 2.1]


@pytest.mark.parametrize("older", [four_point_prior, same_length_prior])
def test_sums_of_an_older_prior_restart_the_test_instead_of_failing(
    older: Callable[[dict], None],
) -> None:
    world = World(rate=1000, canary_error_rate=0.01, stable_error_rate=0.01)
    world.run(timedelta(minutes=3))
    stored = world.status.to_dict()
    older(stored)
    world.status = RolloutStatus.model_validate(stored)
    assert not verdict.resumes(world.status.analysis)
    world.run(timedelta(minutes=1))
    assert "AnalysisRestarted" in world.reasons()
    assert verdict.resumes(world.status.analysis)
    assert world.status.phase == "Progressing"
