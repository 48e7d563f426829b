"""Notifications through apprise to a real local webhook: one message per transition, across
an operator kill -9, and a receiver that fails never holds the rollout up (issue 18)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from devcluster.processes import wait_for

from .conftest import Rig, apply

HEALTHY = {"rps": 100, "errorRate": 0.0, "infraRate": 0.0}
NOTIFY = {"secretRef": {"name": "codemode-notifications"}}
SEQ = re.compile(r"notification (\d+) of ")


class Receiver:
    """A webhook on 127.0.0.1 that keeps every POSTed JSON body; the first `failures` get 500."""

    def __init__(self, failures: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with lock:
                    code = 500 if len(receiver.answers) < receiver.failures else 200
                    receiver.answers.append(code)
                    if code == 200:
                        receiver.bodies.append(body)
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def seqs(self) -> list[int]:
        return [int(m.group(1)) for b in self.bodies if (m := SEQ.search(b["message"]))]

    def titles(self) -> list[str]:
        return [b["title"].rsplit(": ", 1)[-1] for b in self.bodies]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    r = Receiver(getattr(request, "param", 0))
    yield r
    r.stop()


def secret(rig: Rig, url: str) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "codemode-notifications"},
        "stringData": {"urls": f"# the test's webhook\n{url}\n"},
    }
    apply(rig.cp, rig.ns, body)


def delivered(rig: Rig) -> int:
    return (rig.status().get("notifications") or {}).get("delivered", 0)


def test_one_message_per_transition_across_a_kill(rig: Rig, receiver: Receiver) -> None:
    rig.exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    secret(rig, receiver.url)
    rig.start(dwell="8s", notifications=NOTIFY)
    wait_for("two notifications delivered", lambda: delivered(rig) >= 2, 60, show=receiver.seqs)
    rig.operator.kill()  # kill -9 with step 2 dwelling and its notification recorded
    rig.operator.start()
    rig.wait("Succeeded", lambda s: s.get("phase") == "Succeeded")
    # The delivery is recorded at once; the next tick drops it from the outbox.
    wait_for("all four delivered", lambda: delivered(rig) >= 4, 60, show=receiver.seqs)
    wait_for("the outbox emptied", lambda: rig.status()["notifications"]["outbox"] == [], 30)
    assert rig.status()["notifications"]["queued"] == 4
    assert receiver.seqs() == [1, 2, 3, 4], receiver.bodies
    assert receiver.titles() == ["StepStarted", "StepStarted", "StepStarted", "Succeeded"]
    first, last = receiver.bodies[0], receiver.bodies[-1]
    assert first["title"] == f"[codemode-rollout] {rig.ns}/mcp: StepStarted"
    assert first["message"].startswith("step 1: 5% to v2") and first["type"] == "info"
    assert "now Succeeded 4/4 (100%)" in last["message"] and last["type"] == "success"
    assert receiver.answers == [200, 200, 200, 200], "nothing sent twice"


@pytest.mark.parametrize("receiver", [2], indirect=True)
def test_a_failing_receiver_is_retried_and_never_holds_the_rollout(
    rig: Rig, receiver: Receiver
) -> None:
    rig.exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    secret(rig, receiver.url)
    rig.start(dwell="4s", notifications=NOTIFY)
    done = rig.wait("Succeeded", lambda s: s.get("phase") == "Succeeded")
    starts = [
        datetime.fromisoformat(h["time"])
        for h in done["history"]
        if h["reason"] in ("StepStarted", "Succeeded")
    ]
    # The dwells ran on time while the first message was still failing (5 s, then 10 s).
    assert (starts[-1] - starts[0]).total_seconds() < 3 * 4 + 10
    assert receiver.answers[:2] == [500, 500]
    wait_for("all four delivered", lambda: delivered(rig) >= 4, 60, show=receiver.seqs)
    assert receiver.seqs() == [1, 2, 3, 4], "retried in order, none lost"
    assert receiver.answers == [500, 500, 200, 200, 200, 200]
    wait_for(
        "a NotificationFailed event",
        lambda: (
            "NotificationFailed"
            in rig.cp.kubectl(
                "get", "events", "-n", rig.ns, "-o", "jsonpath={.items[*].reason}"
            ).split()
        ),
        20,
    )
    exposition = httpx.get(rig.operator.metrics_url, timeout=5).text
    failed = f'codemode_rollout_notifications_total{{name="mcp",namespace="{rig.ns}",outcome="failed"}} 2.0'
    assert failed in exposition
