"""Issue 16: a killed operator skips no exposure and loses no Event; a failing tick says so."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from devcluster.cluster import ControlPlane
from devcluster.operator_process import Operator
from devcluster.processes import wait_for
from devcluster.watch import Watch
from devcluster.workload import gateway_workloads, rollout

from .conftest import ROUTE_WEIGHTS, apply, condition, get, status
from .crashing_operator import CRASH_AFTER

CRASHING = "tests.integration.operator.crashing_operator"
TIMEOUT = 60


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _route_written_at(cp: ControlPlane, namespace: str) -> datetime:
    """When the operator last wrote the HTTPRoute (managedFields: whole seconds, rounded down)."""
    shown = cp.kubectl(
        "get", "httproute", "mcp", "-n", namespace, "-o", "json", "--show-managed-fields"
    )
    route = json.loads(shown)
    writes = [
        _time(m["time"])
        for m in route["metadata"]["managedFields"]
        if not m["manager"].startswith("kubectl") and m.get("subresource") != "status"
    ]
    assert writes, route["metadata"]["managedFields"]
    return max(writes)


def _weights(cp: ControlPlane, namespace: str) -> str:
    route = get(cp, namespace, "httproute", "mcp")
    return " ".join(str(r.get("weight", 1)) for r in route["spec"]["rules"][-1]["backendRefs"])


def test_a_kill_between_the_status_and_the_route_write_skips_no_exposure(
    control_plane: ControlPlane,
    rollout_crds: None,
    namespace: str,
    tmp_path: Path,
    watch: Callable[..., Watch],
) -> None:
    cp, ns, dwell = control_plane, namespace, 6
    apply(cp, ns, *gateway_workloads())
    weights = watch("httproute", "mcp", ROUTE_WEIGHTS)
    env = {**cp.env, CRASH_AFTER: "applying"}
    crashing = Operator(cp, ns, tmp_path / "crashing", env=env, module=CRASHING)
    crashing.start()
    steps = [
        {"weight": 5, "pause": {"duration": f"{dwell}s"}},
        {"weight": 25, "pause": {"untilApproved": True}},  # holds 25% for the checks below
        {"weight": 100},
    ]
    apply(cp, ns, rollout(steps=steps))
    wait_for("the crash right after step 1's status write", crashing.exited, TIMEOUT)
    died = status(cp, ns)
    assert (died["phase"], died["stepIndex"], died.get("applying") is not None) == (
        "Progressing",
        0,
        True,
    ), died
    assert _weights(cp, ns) == "100", "killed before the route write"
    time.sleep(dwell + 2)  # down for longer than the dwell: the old operator skipped the step
    restart = datetime.now().astimezone()
    operator = Operator(cp, ns, tmp_path / "restarted")
    operator.start()
    try:
        at_25 = wait_for(
            "step 2 (manual: it stays) read back",
            lambda: (s := status(cp, ns)).get("stepIndex") == 1 and s.get("stepStartedAt") and s,
            TIMEOUT,
            show=lambda: status(cp, ns),
        )
        written = _route_written_at(cp, ns)  # the 25% write: nothing is written while waiting
    finally:
        operator.stop()
    history = at_25["history"]
    assert [h["reason"] for h in history] == ["Created", "StepStarted", "StepStarted"]
    step_1 = _time(history[1]["time"])  # when the restarted operator read 5% back
    assert step_1 >= restart - timedelta(seconds=1), "the dwell counted from after the restart"
    # managedFields times are whole seconds, rounded down.
    assert written >= step_1 + timedelta(seconds=dwell - 1), "5% on the route for its full dwell"
    assert weights.values()[:3] == ["100", "95 5", "75 25"], "no weight skipped"


def _posted_events(cp: ControlPlane, namespace: str) -> list[dict[str, Any]]:
    """The rollout's outbox Events (those with a seq), in seq order."""
    items = json.loads(cp.kubectl("get", "events", "-n", namespace, "-o", "json"))["items"]
    ours = [
        e
        for e in items
        if e["involvedObject"].get("name") == "mcp"
        and "codemode.io/event-seq" in (e["metadata"].get("annotations") or {})
    ]
    return sorted(ours, key=lambda e: int(e["metadata"]["annotations"]["codemode.io/event-seq"]))


def test_history_and_events_agree_one_for_one_after_random_kills(
    control_plane: ControlPlane, rollout_crds: None, namespace: str, tmp_path: Path
) -> None:
    cp, ns, kills = control_plane, namespace, 10
    chance = random.Random(16)  # seeded: the same kill times on every run
    apply(cp, ns, *gateway_workloads())
    # First the worst moment, deterministically: a transition committed, its Event not posted.
    env = {**cp.env, CRASH_AFTER: "events"}
    crashing = Operator(cp, ns, tmp_path / "crashing", env=env, module=CRASHING)
    crashing.start()
    steps = [{"weight": w, "pause": {"duration": "1s"}} for w in (5, 10, 25, 50, 75)]
    apply(cp, ns, rollout(steps=[*steps, {"weight": 100}]))
    wait_for("the crash right after the first transition's status write", crashing.exited, TIMEOUT)
    assert status(cp, ns)["events"]["outbox"], "queued, not posted"
    assert _posted_events(cp, ns) == []
    for kill in range(kills):
        operator = Operator(cp, ns, tmp_path / f"run-{kill}")
        operator.start()
        time.sleep(chance.uniform(0.1, 2.5))
        operator.kill()
    operator = Operator(cp, ns, tmp_path / "last")
    operator.start()
    try:
        done = wait_for(
            "Succeeded with every Event posted",
            lambda: (
                (s := status(cp, ns)).get("phase") == "Succeeded"
                and not s["events"]["outbox"]
                and s
            ),
            TIMEOUT * 2,
            show=lambda: status(cp, ns),
        )
    finally:
        operator.stop()
    posted = _posted_events(cp, ns)
    seqs = [int(e["metadata"]["annotations"]["codemode.io/event-seq"]) for e in posted]
    assert seqs == list(range(1, done["events"]["queued"] + 1)), "none lost, none twice"
    history = [(h["reason"], _time(h["time"]).replace(microsecond=0)) for h in done["history"]]
    told = [
        (e["reason"], _time(e["firstTimestamp"]))
        for e in posted
        if e["reason"] in {reason for reason, _ in history}
    ]
    assert told == history
    assert [reason for reason, _ in history] == ["Created", *["StepStarted"] * 5, "Succeeded"]


def test_a_failing_tick_is_a_condition_and_one_warning_never_a_silent_loop(
    control_plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    cp, ns = control_plane, namespace
    apply(cp, ns, *gateway_workloads())
    apply(cp, ns, rollout(steps=[{"weight": 5, "pause": {"untilApproved": True}}, {"weight": 100}]))
    wait_for("step 1", lambda: status(cp, ns).get("stepStartedAt"), TIMEOUT)
    broken = '{"status":{"stepIndex":7}}'  # a status edited by hand: every tick now raises
    cp.kubectl(
        "patch", "cmr", "mcp", "-n", ns, "--subresource=status", "--type=merge", "-p", broken
    )
    failed = wait_for(
        "ReconcileError=True",
        lambda: (c := condition(status(cp, ns), "ReconcileError")).get("status") == "True" and c,
        TIMEOUT,
    )
    assert failed["message"].startswith("IndexError"), failed

    def warnings() -> list[str]:
        out = cp.kubectl(
            "get", "events", "-n", ns, "--field-selector=reason=ReconcileError", "-o", "name"
        )
        return out.split()

    wait_for("the ReconcileError Warning event", warnings, TIMEOUT)
    time.sleep(6 * operator.tick)  # more failing ticks: still the one event
    assert len(warnings()) == 1
    cp.kubectl(
        "patch",
        "cmr",
        "mcp",
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"stepIndex":0}}',
    )
    wait_for(
        "ReconcileError=False",
        lambda: condition(status(cp, ns), "ReconcileError").get("status") == "False",
        TIMEOUT,
    )
