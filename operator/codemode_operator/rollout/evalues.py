"""The mixture sequential probability ratio test on v2's share of errors.

Lindon, Sanden & Shirikian, "Rapid Regression Detection in Software Deployments through
Sequential Testing" (KDD 2022). Given the errors of one interval, each came from v2 with
probability θs/(θs+1-s), s being v2's share of that interval's requests and θ the v2/v1
error-rate ratio. Against H0: θ ≤ θ0 the product of per-interval likelihood ratios, mixed
over a prior on θ > θ0, is an e-process: by Ville's inequality it ever reaches 1/alpha with
probability ≤ alpha, however often it is looked at.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Prior:
    """Discrete prior on θ/θ0, tuned to the regressions we must catch quickly."""

    ratios: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.ratios) != len(self.weights) or any(r <= 1 for r in self.ratios):
            raise ValueError("a prior needs one weight per ratio, every ratio > 1")
        if not math.isclose(sum(self.weights), 1.0):
            raise ValueError("prior weights must sum to 1")


def canary_error_probability(ratio: float, share: float) -> float:
    """Probability that an error came from v2, when v2 has `share` of the requests."""
    return ratio * share / (ratio * share + 1 - share)


def log_likelihood_ratios(
    canary_errors: int, stable_errors: int, share: float, null_ratio: float, prior: Prior
) -> tuple[float, ...]:
    """Per prior point, log LR(θ vs θ0) of one interval's error split."""
    if canary_errors + stable_errors == 0 or not 0 < share < 1:
        return (0.0,) * len(prior.ratios)  # no errors or one version alone: no evidence
    p0 = canary_error_probability(null_ratio, share)
    ratios = []
    for ratio in prior.ratios:
        p1 = canary_error_probability(null_ratio * ratio, share)
        ratios.append(
            canary_errors * math.log(p1 / p0) + stable_errors * math.log((1 - p1) / (1 - p0))
        )
    return tuple(ratios)


def add(sums: Sequence[float], increments: Sequence[float]) -> tuple[float, ...]:
    return tuple(s + i for s, i in zip(sums, increments, strict=True))


def _log_sum_exp(terms: Sequence[float]) -> float:
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def log_e_value(sums: Sequence[float], prior: Prior) -> float:
    """log of Σ w·LR(θ): the mixture likelihood ratio, computed without overflow."""
    return _log_sum_exp([math.log(w) + s for w, s in zip(prior.weights, sums, strict=True)])


def log_average(log_e_values: Sequence[float]) -> float:
    """log of the mean of several e-values (an e-value itself: each has expectation ≤ 1)."""
    return _log_sum_exp(log_e_values) - math.log(len(log_e_values))


def p_value(max_log_e: float) -> float:
    """Anytime-valid p-value: min(1, 1/max e) over the whole rollout so far."""
    return min(1.0, math.exp(-max_log_e))
