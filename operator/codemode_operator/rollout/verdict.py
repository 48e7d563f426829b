"""Verdicts of the two tests (all errors, infra errors) and the overall one."""

import math
from dataclasses import dataclass
from typing import TypeVar

from codemode_operator.apis.status import AnalysisRecord, Evidence, MetricAnalysis, Verdict

from . import evalues
from .evalues import Prior

# A metric's state or a subclass of it (a latency threshold): `update` returns the same kind.
State = TypeVar("State", bound=MetricAnalysis)


@dataclass(frozen=True)
class MetricTest:
    prior: Prior
    alpha_share: float  # of the rollout's alpha; the shares of all tests add up to 1

    def threshold(self, alpha: float) -> float:
        return 1 / (alpha * self.alpha_share)


# Tuned by benchmarks/bench_analysis.py (docs/analysis.md). All errors: the 2x regressions at a
# 0.5% baseline are short of evidence; with the suspicion hold catching the slow tail (≥ 99%
# before 100%), points at 1.9 and 2.4 keep the median fast. Larger regressions still win
# quickly through the 2.4 point. Infra errors regress by 10x and need little alpha. A stored
# state remembers its prior (`priorRatios`): sums of another prior restart the test.
ERRORS = MetricTest(Prior((1.9, 2.4), (0.5, 0.5)), alpha_share=0.95)
INFRA_ERRORS = MetricTest(Prior((5.0, 10.0, 20.0), (0.25, 0.5, 0.25)), alpha_share=0.05)
# The latency test (opt-in) takes its share of the rollout's alpha first; the error tests split
# the rest 0.95/0.05 as above, so the three together keep false rollbacks <= alpha. Its prior
# is on the ratio of the versions' chances of being slower than an edge: a 1.2x slower v2 makes
# it 1.3-2.4 at v1's p50-p99, 1.5x makes it 1.7-6, a tail regression 10-15 at the p99.
LATENCY = MetricTest(Prior((1.5, 3.0, 10.0), (0.4, 0.4, 0.2)), alpha_share=0.2)


def error_alpha(alpha: float, latency: bool) -> float:
    """The alpha the error tests split: all of it, or what the latency test leaves."""
    return alpha * (1 - LATENCY.alpha_share) if latency else alpha


def start(test: MetricTest, alpha: float) -> MetricAnalysis:
    return MetricAnalysis(
        prior_ratios=list(test.prior.ratios),
        log_likelihood_ratios=[0.0] * len(test.prior.ratios),
        threshold=test.threshold(alpha),
    )


def resumes(record: AnalysisRecord) -> bool:
    """Whether a stored record's running sums belong to these tests (not to older priors)."""
    return all(
        state.prior_ratios == list(test.prior.ratios)
        and len(state.log_likelihood_ratios) == len(test.prior.ratios)
        for state, test in ((record.errors, ERRORS), (record.infra_errors, INFRA_ERRORS))
    )


def new_record(alpha: float, tolerance: float) -> AnalysisRecord:
    """The analysis of a new rollout: nothing seen, every test at e = 1."""
    return AnalysisRecord(
        null_ratio=1 + tolerance,
        errors=start(ERRORS, alpha),
        infra_errors=start(INFRA_ERRORS, alpha),
    )


def update(
    state: State,
    test: MetricTest,
    *,
    canary: tuple[int, int],
    stable: tuple[int, int],
    null_ratio: float,
    alpha: float,
) -> State:
    """Fold one interval's (requests, errors) per version into the metric's running test."""
    (canary_requests, canary_errors), (stable_requests, stable_errors) = canary, stable
    requests = canary_requests + stable_requests
    share = canary_requests / requests if requests else 0.0
    sums = evalues.add(
        state.log_likelihood_ratios,
        evalues.log_likelihood_ratios(canary_errors, stable_errors, share, null_ratio, test.prior),
    )
    log_e = evalues.log_e_value(sums, test.prior)
    max_log_e = max(state.max_log_e_value, log_e)
    threshold = test.threshold(alpha)
    totals = (
        state.canary_requests + canary_requests,
        state.stable_requests + stable_requests,
        state.canary_errors + canary_errors,
        state.stable_errors + stable_errors,
    )
    verdict: Verdict = "Fail" if log_e >= math.log(threshold) else "Pass"
    # A copy, so that a latency threshold (a MetricAnalysis with its edge) keeps its fields.
    return state.model_copy(
        update={
            "prior_ratios": list(test.prior.ratios),
            "log_likelihood_ratios": list(sums),
            "canary_requests": totals[0],
            "stable_requests": totals[1],
            "canary_errors": totals[2],
            "stable_errors": totals[3],
            "canary_rate": totals[2] / totals[0] if totals[0] else 0.0,
            "stable_rate": totals[3] / totals[1] if totals[1] else 0.0,
            "log_e_value": log_e,
            "max_log_e_value": max_log_e,
            "e_value": e_value(log_e),
            "p_value": evalues.p_value(max_log_e),
            "threshold": threshold,
            # No interval yet where errors could come from either version: no evidence.
            "verdict": verdict if any(sums) else "Inconclusive",
        }
    )


def e_value(log_e: float) -> float:
    return math.exp(min(log_e, 700.0))


def overall(*tests: Evidence, cap_exceeded: bool, enough_data: bool) -> Verdict:
    """Fail on any evidence of a regression; Pass needs enough v2 data too (none is no pass)."""
    if cap_exceeded or any(t.verdict == "Fail" for t in tests):
        return "Fail"
    return "Pass" if enough_data else "Inconclusive"
