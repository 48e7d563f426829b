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
    table, delays = bench.main_table(rollouts=4, seed=1)
    assert len(table) == 2 + len(bench.CELLS) * 6 and len(delays) == 2 + len(bench.CELLS)
    assert all(line.count("|") == 7 for line in table)
