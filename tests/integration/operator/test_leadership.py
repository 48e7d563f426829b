"""Two operator replicas and a Lease: exactly one acts, the other takes over after a kill -9,
and a rollout that no replica can reconcile says why."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devcluster.cluster import ControlPlane
from devcluster.operator_process import Operator
from devcluster.processes import wait_for
from devcluster.watch import Watch
from devcluster.workload import gateway_workloads, rollout

from .conftest import ROUTE_WEIGHTS, apply, controller, holder, metric, status, ticks

LEASE = "codemode-operator"
TAKEOVER_GOAL = 15  # seconds from the kill -9 of the active replica to the other acting
START_TIMEOUT = 60


def _replica(
    cp: ControlPlane, ns: str, logs: Path, name: str, lease_ns: str | None = None
) -> Operator:
    args = [
        "--tick=0.5",
        f"--namespace={ns}",
        f"--lease-namespace={lease_ns or ns}",
        f"--identity={name}",
    ]
    return Operator(cp, ns, logs / name, args=args)


@pytest.fixture
def replicas(
    control_plane: ControlPlane, rollout_crds: None, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., Operator]]:
    started: list[Operator] = []

    def start(name: str, lease_ns: str | None = None) -> Operator:
        op = _replica(control_plane, namespace, tmp_path, name, lease_ns)
        op.start()
        started.append(op)
        return op

    yield start
    for op in started:
        op.stop()


def test_one_replica_acts_and_the_other_takes_over_after_kill_9(
    control_plane: ControlPlane,
    namespace: str,
    replicas: Callable[..., Operator],
    watch: Callable[..., Watch],
) -> None:
    cp, ns = control_plane, namespace
    a = replicas("op-a")
    wait_for("op-a holds the lease", lambda: holder(cp, ns) == "op-a", START_TIMEOUT)
    b = replicas("op-b")
    apply(cp, ns, *gateway_workloads())
    weights = watch("httproute", "mcp", ROUTE_WEIGHTS)
    steps = [
        {"weight": 5, "pause": {"duration": "3s"}},
        {"weight": 25, "pause": {"duration": "3s"}},
    ]
    apply(cp, ns, rollout(steps=[*steps, {"weight": 100}]))
    wait_for(
        "op-a named active and v2 at 5%",
        lambda: (
            controller(cp, ns).get("message", "").startswith("reconciled by op-a ")
            and status(cp, ns).get("canaryWeight") == 5
        ),
        START_TIMEOUT,
        show=lambda: status(cp, ns),
    )
    # Exactly one acts: over 20 of its ticks, the standby reconciled nothing.
    ticks_before = ticks(a)
    time.sleep(10 * 0.5 * 2)
    assert ticks(a) > ticks_before + 5
    assert (ticks(b), metric(b, "codemode_operator_leader")) == (0, 0)
    assert metric(a, "codemode_operator_leader") == 1

    a.kill()  # SIGKILL: no lease release, the standby must wait out the lease
    killed = time.monotonic()
    wait_for(
        "op-b named active",
        lambda: controller(cp, ns).get("message", "").startswith("reconciled by op-b "),
        2 * TAKEOVER_GOAL,
        interval=0.1,
        show=lambda: (holder(cp, ns), controller(cp, ns)),
    )
    takeover = time.monotonic() - killed
    wait_for("op-b reconciling", lambda: ticks(b) > 0, 10, interval=0.1)
    acting = time.monotonic() - killed
    print(
        f"takeover after kill -9: op-b named active after {takeover:.1f} s, first tick {acting:.1f} s"
    )
    assert takeover <= TAKEOVER_GOAL, f"op-b took {takeover:.1f} s to act (goal {TAKEOVER_GOAL} s)"
    assert holder(cp, ns) == "op-b"
    # op-b carries the rollout on from where op-a left it: no weight skipped or repeated.
    wait_for("Succeeded", lambda: status(cp, ns).get("phase") == "Succeeded", START_TIMEOUT)
    wait_for("last weight seen", lambda: weights.values()[-1:] == ["0 100"], 10)
    assert weights.values() == ["100", "95 5", "75 25", "0 100"]


def test_a_rollout_no_replica_can_reconcile_says_it_waits_for_a_leader(
    control_plane: ControlPlane, namespace: str, replicas: Callable[..., Operator]
) -> None:
    cp, ns = control_plane, namespace
    # A Lease namespace that does not exist: the lease can be neither read nor created.
    missing = f"{ns}-nowhere"
    a = replicas("op-a", lease_ns=missing)
    replicas("op-b", lease_ns=missing)
    apply(cp, ns, *gateway_workloads())
    apply(cp, ns, rollout())
    found = wait_for(
        "the Controller condition",
        lambda: (c := controller(cp, ns)) and c,
        START_TIMEOUT,
        show=lambda: status(cp, ns),
    )
    assert (found["status"], found["reason"]) == ("False", "LeaseUnavailable")
    assert found["message"].startswith(
        f"waiting for a leader: lease {missing}/{LEASE} cannot be used"
    )
    assert f'namespaces "{missing}" not found' in found["message"]
    # Nothing else moved: no phase, no step, no weight.
    assert set(status(cp, ns)) == {"conditions"}
    events = json.loads(cp.kubectl("get", "events", "-n", ns, "-o", "json"))["items"]
    assert [e["type"] for e in events if e["reason"] == "LeaseUnavailable"][:1] == ["Warning"]
    assert "the lease cannot be used" in a.process.log.read_text()  # type: ignore[union-attr]
