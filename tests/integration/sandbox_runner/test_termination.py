"""Real termination at the wall-timeout: the OS process is gone, and no proxy call follows."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.sandbox_runner.peers import (
    ProxyStandIn,
    RunnerProcess,
    pid_exists,
    running_runner,
)

TIMEOUT = 1.5
POLL_SECONDS = 0.002
KILL_BUDGET = 0.5  # deadline -> process gone, generous for a loaded 2-core machine


@pytest.fixture(scope="module")
def runner(proxy: ProxyStandIn) -> Iterator[RunnerProcess]:
    with running_runner(proxy.url, "--pool-size", "1", "--max-api-calls", "100000") as process:
        yield process


class Execution(threading.Thread):
    """Sends one execution in the background and records when the answer arrived."""

    def __init__(self, url: str, code: str) -> None:
        super().__init__(daemon=True)
        self.url, self.code = url, code
        self.started = time.monotonic()
        self.answer: dict[str, object] = {}

    def run(self) -> None:
        body = {"code": self.code, "token": "t", "timeoutSeconds": TIMEOUT}
        self.answer = httpx.post(f"{self.url}/v1/executions", json=body, timeout=30).json()


def _pid_from_proxy(proxy: ProxyStandIn, since: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        calls = proxy.snapshot()[since:]
        if calls:
            return int(calls[0].params["pid"])
        time.sleep(POLL_SECONDS)
    raise AssertionError("the program never reported its pid")


def _time_gone(pid: int, limit: float) -> float:
    """Poll until the pid disappears; the monotonic time it was first seen gone."""
    deadline = time.monotonic() + limit
    while pid_exists(pid):
        assert time.monotonic() < deadline, f"process {pid} still alive"
        time.sleep(POLL_SECONDS)
    return time.monotonic()


def _terminate(runner: RunnerProcess, proxy: ProxyStandIn, code: str) -> tuple[float, int]:
    before = len(proxy.snapshot())
    execution = Execution(runner.url, code)
    execution.start()
    pid = _pid_from_proxy(proxy, before)
    assert pid in runner.children()
    first_call = proxy.snapshot()[before].at
    gone = _time_gone(pid, TIMEOUT + 10)
    print(f"lower bound (from first proxy call): {(gone - first_call - TIMEOUT) * 1000:.1f} ms")
    execution.join(timeout=30)
    assert execution.answer["error"]["kind"] == "timeout"  # type: ignore[index]
    # The runner's deadline starts after the request is sent, so this overestimates slightly.
    return gone - (execution.started + TIMEOUT), before


def test_busy_loop_process_is_killed_at_deadline(
    runner: RunnerProcess, proxy: ProxyStandIn
) -> None:
    latency, _ = _terminate(runner, proxy, "await api.hello({pid: Deno.pid}); for (;;) {}")
    print(f"busy loop: deadline -> process gone {latency * 1000:.1f} ms")
    assert -0.05 < latency < KILL_BUDGET


def test_proxy_calling_loop_stops_calling_at_deadline(
    runner: RunnerProcess, proxy: ProxyStandIn
) -> None:
    code = "for (;;) await api.tick({pid: Deno.pid});"
    latency, before = _terminate(runner, proxy, code)
    calls_at_gone = len(proxy.snapshot())
    time.sleep(1.0)  # anything still alive would keep calling
    calls = proxy.snapshot()[before:]
    print(f"proxy loop: {len(calls)} calls, deadline -> process gone {latency * 1000:.1f} ms")
    assert len(proxy.snapshot()) == calls_at_gone
    assert len(calls) > 10
    last = calls[-1].at - calls[0].at
    assert last < TIMEOUT + KILL_BUDGET
    assert -0.05 < latency < KILL_BUDGET


def test_kill_is_counted_in_metrics(runner: RunnerProcess) -> None:
    text = httpx.get(f"{runner.url}/metrics").text
    kills = re.search(r"^sandbox_timeout_kills_total (\S+)$", text, re.M)
    assert kills and float(kills.group(1)) >= 1
    total = re.search(r"^sandbox_timeout_kill_latency_seconds_sum (\S+)$", text, re.M)
    count = re.search(r"^sandbox_timeout_kill_latency_seconds_count (\S+)$", text, re.M)
    assert total and count and float(count.group(1)) >= 1
    mean = float(total.group(1)) / float(count.group(1))
    print(f"runner-measured deadline -> reaped: mean {mean * 1000:.1f} ms")
    assert mean < KILL_BUDGET


def test_runner_has_no_leftover_processes(runner: RunnerProcess) -> None:
    # Only the one warm replacement process remains.
    deadline = time.monotonic() + 10
    while len(runner.children()) != 1:
        assert time.monotonic() < deadline, runner.children()
        time.sleep(0.05)
