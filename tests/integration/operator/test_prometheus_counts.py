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
from codemode_operator.apis.spec import Analysis
from codemode_operator.rollout import MetricsSample, Window

from devcluster.processes import wait_for
from devcluster.prometheus import Prometheus

from .conftest import Exporter

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


def quiet(exporter: Exporter, prom: Prometheus) -> datetime:
    """No traffic but what the test serves, from the returned time on (series scraped)."""
    exporter.traffic(v1=QUIET, v2=QUIET)
    scraped(prom, 0)
    return datetime.now(UTC)


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Consecutive 1.3 s windows from start to end: edges fall between scrapes (every 1 s)."""
    count = int((end - start).total_seconds() / 1.3)
    return list(pairwise([*(start + timedelta(seconds=1.3 * k) for k in range(count)), end]))


def test_windows_add_up_to_the_errors_served(
    exporter: Exporter, prometheus_for_test: Prometheus
) -> None:
    start = quiet(exporter, prometheus_for_test)
    for _ in range(8):  # 40 errors spread over ~6 scrapes, many between window edges
        exporter.errors("v2", 5)
        time.sleep(0.7)
    time.sleep(2.5)  # the last burst scraped
    found = [count(prometheus_for_test, a, b) for a, b in windows(start, datetime.now(UTC))]
    assert sum(w.canary.errors for w in found) == 40, [w.canary.errors for w in found]
    assert sum(w.stable.errors for w in found) == 0
    assert all(w.canary.errors % 5 == 0 for w in found), "a window extrapolated"


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


def latency_sample(
    prom: Prometheus, start: datetime, end: datetime, since: datetime | None = None
) -> MetricsSample:
    analysis = Analysis.model_validate(
        {"prometheus": {"address": prom.url, "timeout": "5s"}, "latency": {"tools": "execute"}}
    )
    sample = adapter._sample(analysis, Window(start, end, since))
    assert isinstance(sample, MetricsSample), sample
    assert sample.canary_latency is not None and sample.stable_latency is not None
    return sample


def test_histogram_windows_add_up_per_edge_and_the_baseline_sees_v1_before(
    exporter: Exporter, prometheus_for_test: Prometheus
) -> None:
    start = quiet(exporter, prometheus_for_test)
    for _ in range(6):  # between scrapes and window edges, as the errors above
        exporter.calls("v2", 3, 0.7)
        exporter.calls("v1", 5, 0.1)
        time.sleep(0.7)
    time.sleep(2.5)
    end = datetime.now(UTC)
    found = [latency_sample(prometheus_for_test, a, b) for a, b in windows(start, end)]
    canary = [w.canary_latency for w in found]
    stable = [w.stable_latency for w in found]
    assert sum(h.requests for h in canary if h) == 18
    assert sum(h.slower_than(0.5) or 0 for h in canary if h) == 18  # 700 ms: over 500 ms
    assert sum(h.slower_than(1.0) or 0 for h in canary if h) == 0
    assert sum(h.requests for h in stable if h) == 30
    assert sum(h.slower_than(0.05) or 0 for h in stable if h) == 30
    assert sum(h.slower_than(0.1) or 0 for h in stable if h) == 0
    later = latency_sample(prometheus_for_test, end, end + timedelta(seconds=1), since=start)
    assert later.stable_baseline is not None and later.stable_baseline.requests == 30


def test_a_histogram_reset_counts_from_zero(
    exporter: Exporter, prometheus_for_test: Prometheus, tmp_path: Path
) -> None:
    exporter.traffic(v1=QUIET, v2=QUIET)
    scraped(prometheus_for_test, 0)
    exporter.calls("v2", 30, 0.7)
    exporter.errors("v2", 1)
    scraped(prometheus_for_test, 1)
    start = datetime.now(UTC)
    exporter.process.stop()  # a restarted server: every bucket back to 0
    again = Exporter(tmp_path / "again", port=exporter.port)
    try:
        again.traffic(v1=QUIET, v2=QUIET)
        again.calls("v2", 4, 0.7)
        time.sleep(2.5)
        canary = latency_sample(prometheus_for_test, start, datetime.now(UTC)).canary_latency
        assert canary is not None and list(canary.counts) == sorted(canary.counts)
        # increase() of the reset series: about the 4 new calls (extrapolated), never -26.
        assert 0 <= (canary.slower_than(0.5) or 0) <= canary.requests <= 8, canary
    finally:
        again.process.stop()
