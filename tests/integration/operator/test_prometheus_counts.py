"""The default queries count exactly what was served, window after window, against a real
Prometheus: no extrapolation (which would overstate the evidence), no jump lost between two
windows, and a counter reset never makes a negative or a huge count."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import httpx
from codemode_operator.adapters import prometheus as adapter
from codemode_operator.rollout import MetricsSample, Window
from codemode_operator.rollout.spec import Analysis

from devcluster.prometheus import Prometheus

from .conftest import Exporter, wait_for

QUIET = {"rps": 0.0, "errorRate": 0.0, "infraRate": 0.0}


def count(prom: Prometheus, start: datetime, end: datetime) -> MetricsSample:
    analysis = Analysis.model_validate({"prometheus": {"address": prom.url, "timeout": "5s"}})
    sample = adapter._sample(analysis, Window(start, end))
    assert isinstance(sample, MetricsSample), sample
    return sample


def scraped(prom: Prometheus, errors: int) -> None:
    """Wait until Prometheus has a sample of v2's error counter at `errors` or more."""

    def seen() -> bool:
        query = 'sum(mcp_tool_calls_total{version="v2",outcome="error"})'
        result = httpx.get(f"{prom.url}/api/v1/query", params={"query": query}, timeout=5)
        series = result.json()["data"]["result"]
        return bool(series) and float(series[0]["value"][1]) >= errors

    wait_for(f"a scrape with {errors} v2 errors", seen, 15)


def test_windows_add_up_to_the_errors_served(
    exporter: Exporter, prometheus_for_test: Prometheus
) -> None:
    exporter.traffic(v1=QUIET, v2=QUIET)
    scraped(prometheus_for_test, 0)
    start = datetime.now(UTC)
    for _ in range(8):  # 40 errors spread over ~6 scrapes, many between window edges
        exporter.errors("v2", 5)
        time.sleep(0.7)
    time.sleep(2.5)  # the last burst scraped
    end = datetime.now(UTC)
    edges = [
        start + timedelta(seconds=1.3 * k) for k in range(int((end - start).total_seconds() / 1.3))
    ]
    windows = [count(prometheus_for_test, a, b) for a, b in pairwise([*edges, end])]
    assert sum(w.canary.errors for w in windows) == 40, [w.canary.errors for w in windows]
    assert sum(w.stable.errors for w in windows) == 0
    assert all(w.canary.errors % 5 == 0 for w in windows), "a window extrapolated"


def test_a_counter_reset_counts_from_zero(
    exporter: Exporter, prometheus_for_test: Prometheus, tmp_path: Path
) -> None:
    exporter.traffic(v1=QUIET, v2=QUIET)
    scraped(prometheus_for_test, 0)
    exporter.errors("v2", 30)
    scraped(prometheus_for_test, 30)
    start = datetime.now(UTC)
    exporter.process.stop()  # a restarted server: same series, counters back to 0
    again = Exporter(tmp_path / "again", port=exporter.port)
    try:
        again.traffic(v1=QUIET, v2=QUIET)
        again.errors("v2", 4)
        time.sleep(2.5)
        window = count(prometheus_for_test, start, datetime.now(UTC))
        # increase() of the reset series: about the 4 new errors (extrapolated), never -26.
        assert 0 <= window.canary.errors <= 8, window
    finally:
        again.process.stop()
