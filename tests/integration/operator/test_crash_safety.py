"""Issue 16: a killed operator skips no exposure, and loses no transition's Event."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from devcluster.cluster import ControlPlane

from .conftest import (
    ROUTE_WEIGHTS,
    Operator,
    Watch,
    apply,
    gateway_workloads,
    get,
    rollout,
    status,
    wait_for,
)
from .crashing_operator import CRASH_AFTER

CRASHING = "tests.integration.operator.crashing_operator"
TIMEOUT = 60


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _route_written_at(cp: ControlPlane, namespace: str) -> datetime:
    """When the operator last wrote the HTTPRoute (managedFields: whole seconds, rounded down)."""
    route = get(cp, namespace, "httproute", "mcp")
    writes = [
        _time(m["time"])
        for m in route["metadata"]["managedFields"]
        if not m["manager"].startswith("kubectl")
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
        at_5 = wait_for(
            "step 1 read back",
            lambda: (s := status(cp, ns)).get("stepStartedAt") and s.get("stepIndex") == 0 and s,
            TIMEOUT,
            show=lambda: status(cp, ns),
        )
        started, ends = _time(at_5["stepStartedAt"]), _time(at_5["stepEndsAt"])
        assert started >= restart - timedelta(seconds=1), "the dwell counts from after the restart"
        assert ends - started == timedelta(seconds=dwell)
        assert _route_written_at(cp, ns) <= started, "the weight was on the route before the dwell"
        entry = at_5["history"][-1]
        assert (entry["reason"], _time(entry["time"])) == ("StepStarted", started)
        wait_for("step 2 at 25%", lambda: _weights(cp, ns) == "75 25", TIMEOUT)
        assert _route_written_at(cp, ns) >= ends - timedelta(seconds=1), "5% for its full dwell"
        assert weights.values()[:3] == ["100", "95 5", "75 25"]
        at_25 = wait_for(
            "step 2 read back",
            lambda: (s := status(cp, ns)).get("stepIndex") == 1 and s.get("stepStartedAt") and s,
            TIMEOUT,
        )
        assert [h["reason"] for h in at_25["history"]] == ["Created", "StepStarted", "StepStarted"]
    finally:
        operator.stop()
