"""A real Prometheus scrapes a tiny real endpoint and answers through its HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from devcluster.processes import free_port, wait_for
from devcluster.prometheus import Prometheus, static_job


@pytest.fixture
def tiny_exporter() -> Iterator[tuple[str, Counter]]:
    registry = CollectorRegistry()
    counter = Counter("codemode_probe_total", "A counter the test sets.", registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{port}", counter
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_scrape_and_query_back(
    prometheus_server: Prometheus, tiny_exporter: tuple[str, Counter]
) -> None:
    target, counter = tiny_exporter
    counter.inc(42)
    prometheus_server.configure([static_job("probe", [target])])

    def value() -> float | None:
        result = prometheus_server.query('codemode_probe_total{job="probe"}')
        return float(result[0]["value"][1]) if result else None

    assert wait_for("Prometheus scraping the probe", value, 30, 0.5) == 42.0
