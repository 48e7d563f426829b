"""Real termination at the wall-timeout: the OS process is gone, and no proxy call follows."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.integration.sandbox_runner.peers import (
    ProxyStandIn,
    RunnerProcess,
    pid_exists,
    running_runner,
)

pytestmark = pytest.mark.slow  # real runner processes, seconds per test

TIMEOUT = 1.5
POLL_SECONDS = 0.002
KILL_BUDGET = 0.5  # deadline -> process gone, generous for a loaded 2-core machine
SLOW_MACHINE_BUDGET = 2.0  # the upper bound also holds the HTTP hop and the job hand-over


@pytest.fixture(scope="module")
def runner(proxy: ProxyStandIn) -> Iterator[RunnerProcess]:
    with running_runner(proxy.url, "--pool-size", "2", "--max-api-calls", "100000") as process:
        yield process


def _wait_warm(runner: RunnerProcess, count: int) -> None:
    """Measure from a full pool: the request must not wait for a replacement to start."""
    deadline = time.monotonic() + 30
    while len(runner.children()) < count:
        assert time.monotonic() < deadline, runner.children()
        time.sleep(0.01)
    time.sleep(0.2)  # the newest child has started; give it time to print @@READY


class Execution(threading.Thread):
    """Sends one execution in the background and records when the answer arrived."""

    def __init__(self, url: str, code: str, timeout: float = TIMEOUT) -> None:
        super().__init__(daemon=True)
        self.url, self.code, self.timeout = url, code, timeout
        self.started = time.monotonic()
        self.answer: dict[str, object] = {}

    def run(self) -> None:
        body = {"code": self.code, "token": "t", "timeoutSeconds": self.timeout}
        try:
            response = httpx.post(f"{self.url}/v1/executions", json=body, timeout=30)
        except httpx.HTTPError as error:  # the runner was stopped under it
            self.answer = {"transport": type(error).__name__}
        else:
            self.answer = response.json()


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


@dataclass(frozen=True)
class Kill:
    """Deadline -> process gone, seen three ways (the exact deadline is inside the runner)."""

    lower: float  # from the program's first proxy call, which is after the job started
    upper: float  # from sending the request, which is before the job started
    runner: float  # durationMs - timeout: the runner's own job start -> process reaped
    first_call: int  # index of the program's first proxy call

    def show(self, label: str) -> None:
        print(
            f"{label}: deadline -> process gone between {self.lower * 1000:.1f} and "
            f"{self.upper * 1000:.1f} ms (runner: {self.runner * 1000:.1f} ms)"
        )

    def check(self) -> None:
        assert self.lower < KILL_BUDGET
        assert self.runner < KILL_BUDGET
        assert self.upper < SLOW_MACHINE_BUDGET


def _terminate(runner: RunnerProcess, proxy: ProxyStandIn, code: str) -> Kill:
    _wait_warm(runner, 2)
    before = len(proxy.snapshot())
    execution = Execution(runner.url, code)
    execution.start()
    pid = _pid_from_proxy(proxy, before)
    assert pid in runner.children()
    first_call = proxy.snapshot()[before].at
    gone = _time_gone(pid, TIMEOUT + 10)
    execution.join(timeout=30)
    answer: dict[str, Any] = execution.answer
    assert answer["error"]["kind"] == "timeout"
    return Kill(
        lower=gone - (first_call + TIMEOUT),
        upper=gone - (execution.started + TIMEOUT),
        runner=answer["durationMs"] / 1000 - TIMEOUT,
        first_call=before,
    )


def test_busy_loop_process_is_killed_at_deadline(
    runner: RunnerProcess, proxy: ProxyStandIn
) -> None:
    kill = _terminate(runner, proxy, "await api.hello({pid: Deno.pid}); for (;;) {}")
    kill.show("busy loop")
    kill.check()


def test_proxy_calling_loop_stops_calling_at_deadline(
    runner: RunnerProcess, proxy: ProxyStandIn
) -> None:
    kill = _terminate(runner, proxy, "for (;;) await api.tick({pid: Deno.pid});")
    calls_at_gone = len(proxy.snapshot())
    time.sleep(1.0)  # anything still alive would keep calling
    calls = proxy.snapshot()[kill.first_call :]
    kill.show(f"proxy loop ({len(calls)} calls)")
    kill.check()
    assert len(proxy.snapshot()) == calls_at_gone
    assert len(calls) > 10
    assert calls[-1].at - calls[0].at < TIMEOUT + KILL_BUDGET


def test_spinning_worker_dies_with_the_answer(runner: RunnerProcess, proxy: ProxyStandIn) -> None:
    # Worker.terminate() cannot stop this worker and it even keeps Deno from exiting on its own.
    code = """
    await api.hello({pid: Deno.pid});
    const worker = new Worker('data:application/javascript,for(;;){}', {type: 'module'});
    await new Promise((r) => setTimeout(r, 100));
    worker.terminate();
    return 'answered';
    """
    _wait_warm(runner, 2)
    before = len(proxy.snapshot())
    execution = Execution(runner.url, code, timeout=30)
    execution.start()
    pid = _pid_from_proxy(proxy, before)
    execution.join(timeout=30)
    assert execution.answer["result"] == "answered"
    _time_gone(pid, 1.0)


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
    # Only the warm pool remains.
    deadline = time.monotonic() + 10
    while len(runner.children()) != 2:
        assert time.monotonic() < deadline, runner.children()
        time.sleep(0.05)


def test_stopping_the_runner_kills_running_executions(proxy: ProxyStandIn) -> None:
    flags = ("--pool-size", "1", "--shutdown-grace", "1")
    with running_runner(proxy.url, *flags) as runner:
        before = len(proxy.snapshot())
        code = "await api.hello({pid: Deno.pid}); for (;;) {}"
        execution = Execution(runner.url, code, timeout=60)
        execution.start()
        pid = _pid_from_proxy(proxy, before)
        warm = runner.children() - {pid}
        stopping = time.monotonic()
    # The context sent SIGTERM and waited for the runner; nothing it started may be left.
    for child in {pid, *warm}:
        _time_gone(child, 5)
    print(f"runner stopped, its processes gone after {time.monotonic() - stopping:.2f} s")
    execution.join(timeout=10)


def test_killing_the_runner_kills_its_isolates(proxy: ProxyStandIn) -> None:
    # SIGKILL leaves the runner no chance to clean up: the kernel's parent-death signal does it.
    with running_runner(proxy.url, "--pool-size", "1") as runner:
        before = len(proxy.snapshot())
        execution = Execution(runner.url, "await api.hello({pid: Deno.pid}); for (;;) {}", 60)
        execution.start()
        pid = _pid_from_proxy(proxy, before)
        warm = runner.children() - {pid}
        runner.process.kill()
        runner.process.wait(timeout=10)
        for child in {pid, *warm}:
            _time_gone(child, 2.0)
    execution.join(timeout=10)
