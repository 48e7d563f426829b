"""OS limits on a real child process, and the metric names of the contract."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox_runner.limits import apply_cpu_backstop, apply_process_limits, rss_bytes
from sandbox_runner.metrics import Metrics


@pytest.fixture
def child() -> Iterator[int]:
    process = subprocess.Popen(["sleep", "30"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait(timeout=5)


def _limit(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith(name):
            return line
    raise AssertionError(name)


def test_process_limits(child: int) -> None:
    apply_process_limits(child, max_rss_bytes=256 << 20)
    assert int(_limit(child, "Max data size").split()[3]) == (256 << 20) + (1 << 30)
    assert _limit(child, "Max core file size").split()[4] == "0"
    assert _limit(child, "Max open files").split()[3] == "256"


def test_cpu_backstop_is_above_the_wall_timeout(child: int) -> None:
    apply_cpu_backstop(child, timeout=10)
    assert int(_limit(child, "Max cpu time").split()[3]) >= 10 * (os.cpu_count() or 1)


def test_rss_of_live_and_gone_processes() -> None:
    assert rss_bytes(os.getpid()) > 1 << 20
    assert rss_bytes(2**22 + 12345) == 0


def test_metrics_record_outcome_and_kind() -> None:
    metrics = Metrics()
    metrics.record(None, 0.01)
    metrics.record("timeout", 2.0)
    value = metrics.registry.get_sample_value
    assert value("sandbox_executions_total", {"outcome": "ok", "error_kind": "none"}) == 1
    assert value("sandbox_executions_total", {"outcome": "error", "error_kind": "timeout"}) == 1
    assert value("sandbox_execution_duration_seconds_count", {"outcome": "error"}) == 1
