"""The latency test: known answers, its guarantee under equal latencies, edges, counter resets."""

import math
from datetime import timedelta

import numpy as np
import pytest
from codemode_operator.apis.spec import Latency
from codemode_operator.apis.status import LatencyAnalysis, RolloutStatus
from codemode_operator.rollout import Histogram, evalues, latency, verdict
from hypothesis import given
from hypothesis import strategies as st

from .world import EDGES, World, histogram, lognormal, make_spec

INF = math.inf
V1 = lognormal(0.2)  # the benchmark's v1: median 200 ms, sigma 0.6


def hist(counts: dict[float, int], requests: int) -> Histogram:
    """A histogram from "requests at most `le` seconds" per edge."""
    return Histogram(le=(*counts, INF), counts=(*counts.values(), requests))


def fold(
    record: LatencyAnalysis,
    spec: Latency,
    canary: Histogram,
    stable: Histogram,
    step: int = 0,
    baseline: Histogram | None = None,
) -> LatencyAnalysis:
    return latency.update(record, spec, canary, stable, step, alpha=0.01, baseline=baseline)


def test_known_answer_for_one_configured_threshold() -> None:
    spec = Latency(thresholds=[timedelta(milliseconds=500)], tolerance=0.1)
    record = latency.start(spec, 0.01)
    # v2: 4 of its 10 requests over 500 ms; v1: none of its 10. s = 1/2.
    after = fold(record, spec, hist({0.25: 2, 0.5: 6, 1: 10}, 10), hist({0.5: 10}, 10))
    (slot,) = after.thresholds
    assert slot.le == 0.5 and (slot.canary_errors, slot.stable_errors) == (4, 0)
    p0 = evalues.canary_error_probability(1.1, 0.5)
    expected = sum(
        w * (evalues.canary_error_probability(1.1 * r, 0.5) / p0) ** 4
        for r, w in zip(verdict.LATENCY.prior.ratios, verdict.LATENCY.prior.weights, strict=True)
    )
    assert after.e_value == pytest.approx(expected)
    assert after.threshold == pytest.approx(500)  # 1 / (0.01 * 0.2)
    assert after.verdict == "Pass" and after.p_value == pytest.approx(1 / expected)


def test_the_e_value_is_the_average_over_thresholds() -> None:
    spec = Latency(thresholds=[timedelta(milliseconds=250), timedelta(seconds=1)])
    record = latency.start(spec, 0.01)
    after = fold(record, spec, hist({0.25: 2, 1: 6}, 10), hist({0.25: 4, 1: 10}, 10))
    first, second = after.thresholds
    assert math.exp(after.log_e_value) == pytest.approx((first.e_value + second.e_value) / 2)
    # Each threshold alone would fail at K/(alpha share): there the average alone reaches 500.
    assert first.threshold == pytest.approx(1000)


def test_false_rollbacks_stay_below_alpha_with_equal_latencies() -> None:
    """Seeded: v1 = v2 (lognormal, the server's edges), the seed's plan at 200 requests/min, a
    check a minute, no tolerance, alpha 0.25 so that the latency test's 0.05 share is visible."""
    alpha, rollouts, rate = 0.25, 300, 200
    spec = Latency(tolerance=0.0)
    rng = np.random.default_rng(18)
    edges = np.array(EDGES)
    cdf = np.array([V1(le) for le in EDGES])
    probabilities = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    shares = [(0, 0.05)] * 30 + [(1, 0.25)] * 60 + [(2, 0.5)] * 120

    def draw(requests: int) -> Histogram:
        counts = np.cumsum(rng.multinomial(requests, probabilities))
        return Histogram(le=(*edges.tolist(), INF), counts=tuple(int(c) for c in counts))

    false_rollbacks = 0
    for _ in range(rollouts):
        record = latency.start(spec, alpha)
        baselines = [draw(rng.poisson(rate * 60)) for _ in range(3)]  # v1's hour before a step
        for step, share in shares:
            canary, stable = rng.poisson(rate * share), rng.poisson(rate * (1 - share))
            record = latency.update(
                record, spec, draw(canary), draw(stable), step, alpha, baselines[step]
            )
            assert record.thresholds_step == step
            if record.verdict == "Fail":
                false_rollbacks += 1
                break
    assert false_rollbacks / rollouts <= alpha * verdict.LATENCY.alpha_share


def test_edges_near_v1s_quantiles_in_v1s_histogram_before_the_step() -> None:
    spec = Latency()  # p50, p95, p99
    record = latency.start(spec, 0.01)
    assert latency.needs_baseline(record, spec, 0)
    first = fold(record, spec, histogram(50, V1), histogram(950, V1))
    # Nothing known of v1 before this interval: no edges, no test (its own v1 data may not
    # choose them: the choice would then depend on the counts it judges).
    assert [t.le for t in first.thresholds] == [None, None, None]
    assert first.verdict == "Inconclusive" and first.thresholds_step is None
    second = fold(first, spec, histogram(50, V1), histogram(950, V1), baseline=histogram(9000, V1))
    # lognormal(200 ms, 0.6): p50 0.20 s, p95 0.54 s, p99 0.81 s; 35%, 6.3% and 0.37% of v1's
    # requests are slower than 250 ms, 500 ms and 1 s.
    assert [t.le for t in second.thresholds] == [0.25, 0.5, 1.0]
    assert second.thresholds_step == 0 and not latency.needs_baseline(second, spec, 0)
    assert latency.needs_baseline(second, spec, 1), "chosen again at the next step"
    assert not latency.needs_baseline(None, Latency(thresholds=[timedelta(seconds=1)]), 0)


def test_edges_are_chosen_again_at_each_step_start_only() -> None:
    spec = Latency(quantiles=[0.95])
    record = latency.start(spec, 0.01)
    record = fold(record, spec, histogram(50, V1), histogram(950, V1), baseline=histogram(9000, V1))
    assert record.thresholds[0].le == 0.5
    slower = histogram(20_000, lognormal(0.6))  # v1 itself got 3x slower
    same_step = fold(record, spec, histogram(50, V1), histogram(950, V1), baseline=slower)
    assert same_step.thresholds[0].le == 0.5, "the step keeps its edges"
    next_step = fold(same_step, spec, histogram(50, V1), histogram(950, V1), 1, slower)
    assert next_step.thresholds[0].le == 1.0 and next_step.thresholds_step == 1


def test_too_little_v1_data_waits_and_a_taken_edge_is_not_used_twice() -> None:
    spec = Latency(quantiles=[0.5, 0.6])
    few = fold(
        latency.start(spec, 0.01), spec, histogram(5, V1), histogram(95, V1), 0, histogram(60, V1)
    )
    assert [t.le for t in few.thresholds] == [None, None]  # 60 v1 requests: below 100
    enough = fold(few, spec, histogram(5, V1), histogram(95, V1), 0, histogram(110, V1))
    assert [t.le for t in enough.thresholds] == [0.25, None]  # both nearest 250 ms


@pytest.mark.parametrize(
    ("configured", "edge"),
    [(timedelta(milliseconds=300), 0.5), (timedelta(seconds=1), 1.0), (timedelta(hours=1), None)],
)
def test_a_configured_threshold_is_the_smallest_edge_at_or_above_it(
    configured: timedelta, edge: float | None
) -> None:
    assert latency.configured_edge((*EDGES, INF), configured.total_seconds()) == edge


def test_counter_resets_never_make_negative_counts() -> None:
    # A series that reset falls back to increase(): floats, and edges out of order.
    reset = Histogram.model_validate({"le": [0.5, 0.25, INF], "counts": [3.4, 5.2, 4.0]})
    assert reset.le == (0.25, 0.5, INF) and reset.counts == (5, 5, 5)
    assert reset.slower_than(0.25) == 0 and reset.slower_than(0.5) == 0
    negative = Histogram.model_validate({"le": [0.25, INF], "counts": [-2.0, -1.0]})
    assert negative.counts == (0, 0) and negative.slower_than(0.25) == 0
    with pytest.raises(ValueError, match=r"\+Inf"):
        Histogram(le=(0.25, 0.5), counts=(1, 2))


@given(
    counts=st.lists(st.floats(-5, 1e6, allow_nan=False), min_size=1, max_size=15),
    total=st.floats(-5, 1e6, allow_nan=False),
)
def test_any_query_answer_is_a_cumulative_histogram(counts: list[float], total: float) -> None:
    edges = sorted(EDGES[: len(counts)])
    h = Histogram.model_validate({"le": [*edges, INF], "counts": [*counts, total]})
    assert list(h.counts) == sorted(h.counts) and h.counts[0] >= 0
    assert all(0 <= (h.slower_than(le) or 0) <= h.requests for le in edges)


def test_an_edge_one_version_lacks_is_no_evidence() -> None:
    spec = Latency(thresholds=[timedelta(milliseconds=500)])
    record = fold(latency.start(spec, 0.01), spec, hist({0.5: 0}, 10), hist({0.25: 10}, 100))
    assert record.thresholds[0].canary_requests == 0 and record.verdict == "Inconclusive"


LATENCY_ANALYSIS = {"prometheus": {"address": "http://prometheus:9090"}, "latency": {}}


def test_a_slower_v2_rolls_back_with_the_latency_figures() -> None:
    world = World(
        spec=make_spec(analysis=LATENCY_ANALYSIS),
        canary_latency=lognormal(0.3),  # 1.5x slower on every request
        stable_latency=V1,
    )
    world.run_until("RolledBack", limit=timedelta(minutes=30))
    record = world.status.analysis
    assert record.latency is not None and record.latency.verdict == "Fail"
    assert record.errors.verdict != "Fail" and world.weights() == [5, 0]
    assert world.condition("RolledBack") == ("True", "AnalysisFailed")
    message = next(c.message for c in world.status.conditions if c.type == "RolledBack")
    assert "latency: slower than 250ms v2 62.0% vs v1 35.5%" in message


def test_equal_latency_succeeds_and_the_alpha_is_split_three_ways() -> None:
    world = World(spec=make_spec(analysis=LATENCY_ANALYSIS), canary_latency=V1, stable_latency=V1)
    world.run_until("Succeeded")
    record = world.status.analysis
    assert record.latency is not None and record.latency.e_value < 1
    assert record.latency.threshold == pytest.approx(500)  # 0.2 of alpha
    assert record.errors.threshold == pytest.approx(1 / (0.01 * 0.8 * 0.95))
    assert record.infra_errors.threshold == pytest.approx(1 / (0.01 * 0.8 * 0.05))


def test_without_latency_the_error_tests_keep_the_whole_alpha() -> None:
    world = World()
    world.run(timedelta(minutes=2))
    assert world.status.analysis.latency is None
    assert world.status.analysis.errors.threshold == pytest.approx(1 / (0.01 * 0.95))


def test_a_new_latency_tolerance_restarts_only_the_latency_test() -> None:
    world = World(
        spec=make_spec(analysis=LATENCY_ANALYSIS),
        canary_latency=lognormal(0.22),
        stable_latency=V1,
        canary_error_rate=0.01,
        stable_error_rate=0.01,
    )
    world.run(timedelta(minutes=5))
    errors_before = world.status.analysis.errors.log_likelihood_ratios
    world.spec = make_spec(analysis={**LATENCY_ANALYSIS, "latency": {"tolerance": 0.5}})
    world.generation += 1
    world.run(timedelta(minutes=1))
    assert "AnalysisRestarted" in world.reasons()
    record = world.status.analysis
    assert record.latency is not None and record.latency.null_ratio == 1.5
    assert len(record.errors.log_likelihood_ratios) == len(errors_before)
    assert record.errors.canary_requests > 0, "the error tests went on"


def test_a_round_tripped_status_resumes_the_latency_test_exactly() -> None:
    world = World(
        spec=make_spec(analysis=LATENCY_ANALYSIS),
        canary_latency=lognormal(0.22),
        stable_latency=V1,
    )
    world.run(timedelta(minutes=7))
    twin = World(
        spec=world.spec,
        status=RolloutStatus.model_validate(world.status.to_dict()),
        now=world.now,
        router_weight=world.router_weight,
        canary_latency=world.canary_latency,
        stable_latency=world.stable_latency,
    )
    world.run(timedelta(minutes=5))
    twin.run(timedelta(minutes=5))
    assert twin.status == world.status
    assert world.status.analysis.latency is not None
    assert world.status.analysis.latency.thresholds_step == 0


def test_sums_of_another_latency_prior_restart_the_latency_test() -> None:
    world = World(spec=make_spec(analysis=LATENCY_ANALYSIS), canary_latency=V1, stable_latency=V1)
    world.run(timedelta(minutes=3))
    stored = world.status.to_dict()
    for threshold in stored["analysis"]["latency"]["thresholds"]:
        threshold["priorRatios"] = [2.0, 4.0, 8.0]
    world.status = RolloutStatus.model_validate(stored)
    world.run(timedelta(minutes=1))
    assert "AnalysisRestarted" in world.reasons()
    record = world.status.analysis.latency
    assert record is not None
    assert all(t.prior_ratios == list(verdict.LATENCY.prior.ratios) for t in record.thresholds)
