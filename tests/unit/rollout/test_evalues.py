import math

import numpy as np
import pytest
from codemode_operator.apis.status import MetricAnalysis
from codemode_operator.rollout import evalues, verdict
from codemode_operator.rollout.evalues import Prior
from hypothesis import given
from hypothesis import strategies as st

POINT = Prior((2.0,), (1.0,))


def fold(state: MetricAnalysis, canary: tuple[int, int], stable: tuple[int, int]) -> MetricAnalysis:
    return verdict.update(
        state, verdict.ERRORS, canary=canary, stable=stable, null_ratio=1.0, alpha=0.01
    )


def test_known_answer_for_an_even_split() -> None:
    # s = 1/2, θ = 2: each error is v2's with probability 2/3 instead of 1/2.
    (only_v2,) = evalues.log_likelihood_ratios(3, 0, 0.5, 1.0, POINT)
    assert only_v2 == pytest.approx(3 * math.log(4 / 3))
    (mixed,) = evalues.log_likelihood_ratios(3, 1, 0.5, 1.0, POINT)
    assert mixed == pytest.approx(3 * math.log(4 / 3) + math.log(2 / 3))


def test_known_answer_for_the_mixture() -> None:
    prior = Prior((2.0, 4.0), (0.5, 0.5))
    sums = evalues.log_likelihood_ratios(2, 0, 0.5, 1.0, prior)
    expected = 0.5 * (4 / 3) ** 2 + 0.5 * (8 / 5) ** 2
    assert math.exp(evalues.log_e_value(sums, prior)) == pytest.approx(expected)
    assert evalues.p_value(math.log(expected)) == pytest.approx(1 / expected)


@pytest.mark.parametrize("true_ratio", [0.25, 0.5, 1.0])
@pytest.mark.parametrize("share", [0.05, 0.25, 0.5])
@pytest.mark.parametrize(
    ("test", "null_ratio"),
    [(verdict.ERRORS, 1.0), (verdict.LATENCY, 1.0), (verdict.LATENCY, 1.1)],
    ids=["errors", "latency", "latency-tolerance-0.1"],
)
def test_the_likelihood_ratio_is_an_e_value_under_the_null(
    true_ratio: float, share: float, test: verdict.MetricTest, null_ratio: float
) -> None:
    """Exact binomial expectation over the split of one interval's errors (or slow requests):
    ≤ 1 whenever θ ≤ θ0, = 1 at θ0."""
    errors = 12
    theta = true_ratio * null_ratio
    p = evalues.canary_error_probability(theta, share)
    expectation = 0.0
    for canary in range(errors + 1):
        pmf = math.comb(errors, canary) * p**canary * (1 - p) ** (errors - canary)
        sums = evalues.log_likelihood_ratios(canary, errors - canary, share, null_ratio, test.prior)
        expectation += pmf * math.exp(evalues.log_e_value(sums, test.prior))
    assert expectation <= 1 + 1e-12
    if true_ratio == 1.0:
        assert expectation == pytest.approx(1.0)


@given(
    canary_requests=st.integers(1, 5000),
    stable_requests=st.integers(1, 5000),
    canary_errors=st.integers(0, 50),
    stable_errors=st.integers(0, 50),
)
def test_more_v2_errors_never_lower_the_evidence(
    canary_requests: int, stable_requests: int, canary_errors: int, stable_errors: int
) -> None:
    start = verdict.start(verdict.ERRORS, 0.01)
    fewer = fold(start, (canary_requests, canary_errors), (stable_requests, stable_errors))
    more = fold(start, (canary_requests, canary_errors + 1), (stable_requests, stable_errors))
    assert more.log_e_value > fewer.log_e_value
    assert math.isfinite(more.log_e_value) and more.p_value <= fewer.p_value


def test_no_data_is_inconclusive() -> None:
    start = verdict.start(verdict.ERRORS, 0.01)
    for canary, stable in [((0, 0), (0, 0)), ((100, 0), (1900, 0)), ((0, 0), (2000, 30))]:
        state = fold(start, canary, stable)
        assert state.verdict == "Inconclusive" and state.p_value == 1.0
    assert verdict.overall(start, start, cap_exceeded=False, enough_data=False) == "Inconclusive"


def test_a_clear_regression_fails_and_equal_rates_pass() -> None:
    start = verdict.start(verdict.ERRORS, 0.01)
    assert fold(start, (500, 40), (9500, 95)).verdict == "Fail"
    assert fold(start, (500, 5), (9500, 95)).verdict == "Pass"


def test_tolerance_needs_more_evidence() -> None:
    args = {"canary": (500, 15), "stable": (9500, 95), "alpha": 0.01}
    strict = verdict.update(
        verdict.start(verdict.ERRORS, 0.01), verdict.ERRORS, null_ratio=1.0, **args
    )
    loose = verdict.update(
        verdict.start(verdict.ERRORS, 0.01), verdict.ERRORS, null_ratio=1.5, **args
    )
    assert loose.log_e_value < strict.log_e_value


def test_the_cap_fails_on_its_own() -> None:
    start = verdict.start(verdict.INFRA_ERRORS, 0.01)
    assert verdict.overall(start, start, cap_exceeded=True, enough_data=True) == "Fail"


@pytest.mark.parametrize(("rate", "base"), [(200, 0.02), (1000, 0.005)])
def test_false_rollbacks_stay_below_alpha_with_a_check_every_minute(rate: int, base: float) -> None:
    """Seeded: equal error rates over the seed's plan; alpha = 0.05 so that a breach would show."""
    alpha, rollouts = 0.05, 200
    rng = np.random.default_rng(7)
    shares = [0.05] * 30 + [0.25] * 60 + [0.5] * 120
    false_rollbacks = 0
    for _ in range(rollouts):
        state = verdict.start(verdict.ERRORS, alpha)
        for share in shares:
            canary, stable = rng.poisson(rate * share), rng.poisson(rate * (1 - share))
            errors = rng.binomial(canary, base), rng.binomial(stable, base)
            state = verdict.update(
                state,
                verdict.ERRORS,
                canary=(int(canary), int(errors[0])),
                stable=(int(stable), int(errors[1])),
                null_ratio=1.0,
                alpha=alpha,
            )
            if state.verdict == "Fail":
                false_rollbacks += 1
                break
    # The errors test has 0.95 * alpha = 0.0475 of the budget.
    assert false_rollbacks / rollouts <= alpha
