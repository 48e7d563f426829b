"""The latency test: is v2 slower than the live v1?

Per threshold (a bucket edge of `mcp_tool_call_duration_seconds`), the requests slower than it
are to latency what errors are to the error test: given the S slow requests of an interval,
each is v2's with probability θs/(θs+1-s) (s: v2's share of the interval's requests, θ: the
ratio of the two versions' chances of being that slow). Under "v2 is no slower", θ ≤ θ0 at
every edge, so the error test's mixture SPRT applies unchanged, one e-process per threshold.
Their average is an e-process too (each is a supermartingale for the same history of
intervals), so the latency test fails when the average reaches 1/(its share of alpha).

The edges are chosen at each step's start from v1's own histogram over the hour before it
(the edge whose share of slower v1 requests is nearest 1 - quantile), or configured. Only data
from before an interval chooses its edges, so the choice cannot favour a rollback.
"""

import math
from collections.abc import Sequence

from codemode_operator.apis.spec import Latency
from codemode_operator.apis.status import LatencyAnalysis, LatencyThreshold

from . import evalues, verdict
from .observations import Histogram

# A quantile edge read from fewer v1 requests than this would be noise (a p99 of 20 requests).
MIN_STABLE_REQUESTS = 100


def _slots(spec: Latency) -> list[float | None]:
    """Each threshold's v1 quantile; None for each configured threshold."""
    if spec.thresholds:
        return [None for _ in spec.thresholds]
    return list(spec.quantiles)


def start(spec: Latency, alpha: float) -> LatencyAnalysis:
    """A latency test that has seen nothing: every threshold's e-process at 1."""
    state = verdict.start(verdict.LATENCY, alpha)
    thresholds = [
        LatencyThreshold(**state.model_dump(), quantile=quantile) for quantile in _slots(spec)
    ]
    return LatencyAnalysis(
        null_ratio=1 + spec.tolerance,
        thresholds=thresholds,
        threshold=verdict.LATENCY.threshold(alpha),
    )


def restart_reason(record: LatencyAnalysis | None, spec: Latency) -> str | None:
    """Why a stored latency test cannot go on with this spec (None: it resumes)."""
    if record is None:
        return "the latency test is new"
    if record.null_ratio != 1 + spec.tolerance:
        return f"latency tolerance is now {spec.tolerance}"
    if [t.quantile for t in record.thresholds] != _slots(spec):
        return "the latency thresholds changed"
    prior = list(verdict.LATENCY.prior.ratios)
    if any(t.prior_ratios != prior for t in record.thresholds):
        return "the latency test's prior changed (operator upgrade)"
    return None


def quantile_edge(baseline: Histogram, quantile: float) -> float | None:
    """The finite edge whose share of slower v1 requests is nearest 1 - quantile (in ratio)."""
    best: tuple[float, float] | None = None
    for le, count in zip(baseline.le[:-1], baseline.counts, strict=False):
        slower = (baseline.requests - count) / baseline.requests if baseline.requests else 0
        if slower > 0:
            distance = abs(math.log(slower / (1 - quantile)))
            if best is None or distance < best[0]:
                best = (distance, le)
    return best[1] if best else None


def needs_baseline(record: LatencyAnalysis | None, spec: Latency, step_index: int) -> bool:
    """Whether this check must bring v1's histogram before it (the step's edges are due)."""
    return not spec.thresholds and (record is None or record.thresholds_step != step_index)


def configured_edge(edges: Sequence[float], seconds: float) -> float | None:
    """The smallest finite edge at or above a configured threshold: "slower than it" then
    means at least that slow. None when every edge is below it."""
    return next((le for le in sorted(edges) if le >= seconds and math.isfinite(le)), None)


def choose(
    record: LatencyAnalysis, spec: Latency, edges: Sequence[float], baseline: Histogram | None
) -> list[float | None] | None:
    """Each threshold's edge for this step (None: v1's baseline is too small to choose from).

    A quantile that lands on an edge already taken gets none: the same edge twice would count
    its evidence twice."""
    if not spec.thresholds and (baseline is None or baseline.requests < MIN_STABLE_REQUESTS):
        return None
    chosen: list[float | None] = []
    for index, slot in enumerate(record.thresholds):
        if slot.quantile is None:
            le = configured_edge(edges, spec.thresholds[index].total_seconds())
        else:
            le = quantile_edge(baseline, slot.quantile) if baseline is not None else None
        chosen.append(le if le not in chosen else None)
    return chosen


def update(
    record: LatencyAnalysis,
    spec: Latency,
    canary: Histogram,
    stable: Histogram,
    step_index: int,
    alpha: float,
    baseline: Histogram | None = None,
) -> LatencyAnalysis:
    """Fold one interval's two histograms into the latency test (alpha: the rollout's).

    `baseline`: v1's histogram before the interval, to choose the edges of a new step."""
    thresholds = list(record.thresholds)
    step = record.thresholds_step
    edges = choose(record, spec, canary.le, baseline) if step != step_index else None
    if edges is not None:  # a new step: its edges from v1's histogram before it
        thresholds = [
            t.model_copy(update={"le": le}) for t, le in zip(thresholds, edges, strict=True)
        ]
        step = step_index
    # Each threshold's own rollback level is K/(alpha share): at it, the average alone fails.
    per_threshold_alpha = alpha / len(thresholds)
    for index, slot in enumerate(thresholds):
        if slot.le is None:
            continue
        canary_slow, stable_slow = canary.slower_than(slot.le), stable.slower_than(slot.le)
        if canary_slow is None or stable_slow is None:
            continue  # an edge one version does not have: no comparison this interval
        thresholds[index] = verdict.update(
            slot,
            verdict.LATENCY,
            canary=(canary.requests, canary_slow),
            stable=(stable.requests, stable_slow),
            null_ratio=record.null_ratio,
            alpha=per_threshold_alpha,
        )
    log_e = evalues.log_average([t.log_e_value for t in thresholds])
    max_log_e = max(record.max_log_e_value, log_e)
    threshold = verdict.LATENCY.threshold(alpha)
    evidence = any(any(t.log_likelihood_ratios) for t in thresholds)
    return record.model_copy(
        update={
            "thresholds": thresholds,
            "thresholds_step": step,
            "log_e_value": log_e,
            "max_log_e_value": max_log_e,
            "e_value": verdict.e_value(log_e),
            "p_value": evalues.p_value(max_log_e),
            "threshold": threshold,
            "verdict": ("Fail" if log_e >= math.log(threshold) else "Pass")
            if evidence
            else "Inconclusive",
        }
    )


def format_seconds(le: float) -> str:
    return f"{le * 1000:g}ms" if le < 1 else f"{le:g}s"


def summary(record: LatencyAnalysis) -> str:
    """`latency: slower than 250ms v2 41% vs v1 35%, ...; e=3.1 (fail at 500), p=0.32`."""
    parts = [
        f"slower than {format_seconds(t.le)} v2 {t.canary_rate:.1%} vs v1 {t.stable_rate:.1%}"
        for t in record.thresholds
        if t.le is not None
    ]
    figures = ", ".join(parts) or "no thresholds yet (too little v1 data before the step)"
    return (
        f"latency: {figures}; e={record.e_value:.3g} (fail at {record.threshold:.3g}), "
        f"p={record.p_value:.3g}"
    )
