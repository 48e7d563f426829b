"""A real Prometheus scrapes a tiny real endpoint and answers through its HTTP API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from devcluster.processes import free_port
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
    deadline = time.monotonic() + 30
    value = None
    while time.monotonic() < deadline and value is None:
        result = prometheus_server.query('codemode_probe_total{job="probe"}')
        value = float(result[0]["value"][1]) if result else None
        time.sleep(0.5)
    assert value == 42.0
