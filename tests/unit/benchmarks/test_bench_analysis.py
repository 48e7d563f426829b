"""The pure parts of the analysis benchmark: the bounds it prints and a tiny run of its tables."""

import numpy as np
import pytest

from benchmarks import bench_analysis as bench


def test_neyman_pearson_randomises_the_boundary_cell() -> None:
    # Reject the second cell (likelihood ratio 5) with probability 0.5: alpha 0.05, power 0.25.
    null, worse = np.log([[0.9, 0.1]]), np.log([[0.5, 0.5]])
    assert bench._neyman_pearson(null, worse, np.zeros((1, 1)), 0.05) == pytest.approx(0.25)


@pytest.mark.parametrize("per_check", [10, 50])
def test_last_check_requests_is_a_distribution(per_check: float) -> None:
    weights = bench.last_check_requests(per_check, bench.INFRA_GOAL)
    assert weights.sum() == pytest.approx(1.0)
    if per_check == 50:  # 40-55 requests: nearly always the first check, the next past 60
        first = np.exp(bench.poisson_log_pmf(np.arange(61), 50))
        assert weights[40:56] == pytest.approx(first[40:56], rel=1e-3)


def test_a_live_baseline_never_beats_the_oracle_and_more_alpha_helps() -> None:
    cell = bench.Cell(1000, 0.005)
    oracle = bench.power_bound(cell, 0.005, 10, 0.01, live=False)
    live = bench.power_bound(cell, 0.005, 10, 0.01, live=True)
    assert live <= oracle
    assert live < 0.5  # the documented impossibility of a median of 60 in this cell
    assert bench.power_bound(cell, 0.005, 10, 0.0005, live=True) < live


def test_tiny_run_of_the_tables() -> None:
    table, delays = bench.main_table(rollouts=2, seed=1)
    assert len(table) == 2 + len(bench.CELLS) * 6 and len(delays) == 2 + len(bench.CELLS)
    assert all(line.count("|") == 7 for line in table)


def test_histogram_quantile_interpolates_as_prometheus_does() -> None:
    # 10 requests: 4 at most 250 ms, 9 at most 500 ms, 1 above 600 s.
    counts = np.zeros(len(bench.EDGES))
    counts[bench.EDGES.index(0.25) :] = 4
    counts[bench.EDGES.index(0.5) :] = 9
    counts[-1] = 10
    # The median's rank 5 is the 1st of 5 requests in (250 ms, 500 ms]: 250 + 250/5 ms.
    assert bench.histogram_quantile(0.5, counts) == pytest.approx(0.3)
    assert bench.histogram_quantile(0.99, counts) == 600  # the +Inf bucket: the highest edge
    assert np.isnan(bench.histogram_quantile(0.5, np.zeros(len(bench.EDGES))))


def test_wilson_interval_covers_the_rate() -> None:
    low, high = bench.wilson(21, 3000)
    assert low < 0.007 < high and high - low < 0.007
    assert bench.wilson(0, 100)[0] == 0.0


def test_tiny_run_of_the_latency_table(tmp_path) -> None:
    lines, outcomes = bench.latency_table(rollouts=2, seed=1)
    assert len(lines) == 2 + len(bench.LATENCY_RATES) * len(bench.LATENCY_RULES)
    assert all(line.count("|") == 8 for line in lines)
    bench.latency_figure(outcomes, str(tmp_path / "figure.png"))
    assert (tmp_path / "figure.png").stat().st_size > 10_000


def _traffic(canary_errors: int) -> "bench.Traffic":
    """One rollout: v2 100 requests a minute with `canary_errors` of them infra errors, v1
    1000 requests a minute and none."""

    def step(index: int, minutes: int) -> np.ndarray:
        minutes += bench.HOLD_MINUTES if bench.holds(index) else 0
        canary = np.array([100, canary_errors, canary_errors])[:, None, None]
        stable = np.array([1000, 0, 0])[:, None, None]
        return np.stack([np.broadcast_to(v, (3, 1, minutes)) for v in (canary, stable)])

    return bench.Traffic(tuple(step(i, dwell) for i, (_, dwell) in enumerate(bench.PLAN)))


def test_rule_a_is_the_operators_decide_from_first_tick_to_the_end() -> None:
    # A v2 failing every call is rolled back by decide's analysis within its first minutes.
    broken = bench.sequential_test(_traffic(canary_errors=100))
    assert broken.minutes[0] <= 3 and broken.requests[0] == 100 * broken.minutes[0]
    # A clean v2 walks every step of the plan to Succeeded: no rollback, never held.
    clean = bench.sequential_test(_traffic(canary_errors=0))
    assert np.isnan(clean.requests[0]) and clean.held[0] == 0
