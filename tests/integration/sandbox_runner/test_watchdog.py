"""Resource fairness: a stopped or idle isolate gives its pool slot back long before its timeout.

The runner here has one slot and a 1 s idle timeout; every execution may run 60 s, so an answer
within a few seconds can only come from the watchdog.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox_runner.limits import cpu_ticks
from tests.integration.sandbox_runner.peers import (
    ProxyStandIn,
    RunnerProcess,
    execute,
    running_runner,
)

pytestmark = pytest.mark.slow

TIMEOUT = 60.0
RECLAIMED_WITHIN = 15.0  # far below TIMEOUT, generous for a loaded 2-core machine


@pytest.fixture(scope="module")
def idle_runner(proxy: ProxyStandIn) -> Iterator[RunnerProcess]:
    flags = ("--pool-size", "1", "--idle-timeout", "1")
    with running_runner(proxy.url, *flags) as process:
        yield process


@pytest.fixture(scope="module")
def one_slot(idle_runner: RunnerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=idle_runner.url, timeout=TIMEOUT + 30) as http:
        yield http


def _timed(client: httpx.Client, code: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    answer = execute(client, code, timeoutSeconds=TIMEOUT)
    return answer, time.monotonic() - started


def test_a_self_stopped_isolate_is_reclaimed(one_slot: httpx.Client) -> None:
    answer, seconds = _timed(one_slot, "Deno.kill(Deno.pid, 'SIGSTOP'); return 'stopped';")
    assert answer["error"]["name"] == "ProcessStopped" and answer["error"]["kind"] == "user"
    assert seconds < RECLAIMED_WITHIN
    assert execute(one_slot, "return 'slot free';")["result"] == "slot free"


def test_an_isolate_stopped_from_outside_is_reclaimed(
    one_slot: httpx.Client, idle_runner: RunnerProcess
) -> None:
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.update(answer=_timed(one_slot, "for (;;) {}")), daemon=True
    )
    worker.start()
    deadline = time.monotonic() + RECLAIMED_WITHIN
    # The one busy child is the one running the loop (the replacement is not started yet).
    while not (busy := [pid for pid in idle_runner.children() if cpu_ticks(pid) > 20]):
        assert time.monotonic() < deadline, "the busy loop never showed up"
        time.sleep(0.05)
    os.kill(busy[0], signal.SIGSTOP)
    worker.join(timeout=RECLAIMED_WITHIN)
    answer, seconds = result["answer"]
    assert answer["error"]["name"] == "ProcessStopped", answer
    assert seconds < RECLAIMED_WITHIN + 5


def test_an_idle_isolate_is_reclaimed(one_slot: httpx.Client) -> None:
    code = "setInterval(() => {}, 1e7); await new Promise(() => {});"
    answer, seconds = _timed(one_slot, code)
    assert answer["error"]["name"] == "IdleError" and answer["error"]["kind"] == "user"
    assert seconds < RECLAIMED_WITHIN


def test_a_sleep_is_not_idleness(one_slot: httpx.Client) -> None:
    answer, _ = _timed(one_slot, "await sleep(2500); return 'slept';")
    assert answer["result"] == "slept"
