"""Issue 3's acceptance: the operator as a real process walks real objects step by step."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from codemode_operator.adapters.jobs import job_name, rollout_label
from codemode_operator.adapters.routers.gateway_api import route_pins
from codemode_operator.rollout import RunGateJob

from devcluster.cluster import ControlPlane
from devcluster.operator_process import Operator
from devcluster.processes import wait_for
from devcluster.watch import Watch
from devcluster.workload import deployment, gateway_workloads, rollout, service

from .conftest import ROUTE_RULES, ROUTE_WEIGHTS, apply, condition, get, status, ticks

STEP_TIMEOUT = 60


def _phase(cp: ControlPlane, ns: str) -> str | None:
    return status(cp, ns).get("phase")


def _gateway_setup(cp: ControlPlane, ns: str, canary_pool: str | None = None) -> None:
    apply(cp, ns, *gateway_workloads(canary_pool))


def test_gateway_api_walk(
    control_plane: ControlPlane, namespace: str, operator: Operator, watch: Callable[..., Watch]
) -> None:
    _gateway_setup(control_plane, namespace)
    weights = watch("httproute", "mcp", ROUTE_WEIGHTS)
    rules = watch("httproute", "mcp", ROUTE_RULES)
    apply(control_plane, namespace, rollout(scaleDownStable={"after": "3s"}))
    wait_for("Succeeded", lambda: _phase(control_plane, namespace) == "Succeeded", STEP_TIMEOUT)
    wait_for("last weight seen", lambda: weights.values()[-1:] == ["0 100"], 10)
    assert weights.values() == ["100", "95 5", "75 25", "50 50", "0 100"]
    # v1's conversations drain on v1 at 100%: its pin stays until v1 is scaled down. The stored
    # route (with the API server's defaults) reads back as exactly the pins written.
    stored = get(control_plane, namespace, "httproute", "mcp")
    assert route_pins(stored, "mcp-v1", "mcp-v2") in (("v1", "v2"), ("v2",))
    current = get(control_plane, namespace, "cmr", "mcp")["status"]
    assert current["canaryWeight"] == 100 and current["step"] == "4/4"
    reasons = [h["reason"] for h in current["history"]]
    assert reasons.count("StepStarted") == 3 and reasons[-1] == "Succeeded"
    # After the cool-down v1 is scaled to zero (until then a rollback to v1 stays instant).
    wait_for(
        "v1 scaled down",
        lambda: get(control_plane, namespace, "deploy", "mcp-v1")["spec"]["replicas"] == 0,
        STEP_TIMEOUT,
    )
    assert status(control_plane, namespace)["phase"] == "Succeeded"
    wait_for("v1's pin gone", lambda: rules.values()[-1:] == ["codemode-pin-v2"], 10)
    both = "codemode-pin-v1 codemode-pin-v2"
    assert rules.values()[-2:] == [both, "codemode-pin-v2"], rules.values()


def test_replicas_router_walk(
    control_plane: ControlPlane, namespace: str, operator: Operator, watch: Callable[..., Watch]
) -> None:
    apply(
        control_plane,
        namespace,
        deployment("mcp-v1", "v1", replicas=10),
        deployment("mcp-v2", "v2", replicas=0),
        service("mcp", None),
    )
    stable = watch("deploy", "mcp-v1", "{.spec.replicas}")
    canary = watch("deploy", "mcp-v2", "{.spec.replicas}")
    body = rollout(router="replicas")
    body["spec"]["router"]["replicas"]["total"] = 10
    apply(control_plane, namespace, body)
    wait_for("Succeeded", lambda: _phase(control_plane, namespace) == "Succeeded", STEP_TIMEOUT)
    wait_for("v1 at 0", lambda: stable.values()[-1:] == ["0"], 10)
    assert stable.values() == ["10", "9", "8", "5", "0"]
    assert canary.values() == ["0", "1", "2", "5", "10"]
    # Pods behind one Service: conversations meet both versions. The rollout says so.
    pinned = condition(status(control_plane, namespace), "SessionsPinned")
    assert (pinned["status"], pinned["reason"]) == ("False", "RouterCannotPin")
    reasons = control_plane.kubectl(
        "get", "events", "-n", namespace, "-o", "jsonpath={.items[*].reason}"
    )
    assert reasons.split().count("RouterCannotPin") == 1


def test_waits_for_v2_ready_then_continues(
    control_plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    _gateway_setup(control_plane, namespace, canary_pool=namespace)
    apply(control_plane, namespace, rollout())

    def healthy() -> dict | None:
        conditions = (
            get(control_plane, namespace, "cmr", "mcp").get("status", {}).get("conditions", [])
        )
        return next((c for c in conditions if c["type"] == "Healthy"), None)

    condition = wait_for("Healthy condition", healthy, STEP_TIMEOUT)
    assert condition["status"] == "False" and condition["reason"] == "NotReady"
    assert "0/2 available" in condition["message"]
    assert get(control_plane, namespace, "cmr", "mcp")["status"]["phase"] == "Pending"
    control_plane.kubectl("label", "node", "kwok-node-1", f"codemode.io/pool={namespace}")
    try:
        wait_for("Succeeded", lambda: _phase(control_plane, namespace) == "Succeeded", STEP_TIMEOUT)
    finally:
        control_plane.kubectl("label", "node", "kwok-node-1", "codemode.io/pool-")
    assert healthy()["status"] == "True"  # type: ignore[index]


def test_sigkill_mid_step_resumes_same_step_and_deadline(
    control_plane: ControlPlane, namespace: str, operator: Operator, watch: Callable[..., Watch]
) -> None:
    _gateway_setup(control_plane, namespace)
    weights = watch("httproute", "mcp", ROUTE_WEIGHTS)
    steps = [
        # Longer than a slow restart can take; `skip` ends it once checked.
        {"weight": 5, "pause": {"duration": "100s"}},
        {"weight": 25, "pause": {"duration": "3s"}},
        {"weight": 100},
    ]
    apply(control_plane, namespace, rollout(steps=steps))
    wait_for(
        "step 1",
        lambda: get(control_plane, namespace, "cmr", "mcp").get("status", {}).get("stepEndsAt"),
        STEP_TIMEOUT,
    )
    before = get(control_plane, namespace, "cmr", "mcp")["status"]
    operator.kill()
    operator.start()
    # The restarted operator's own count of ticks (its status writes are too rare to show one:
    # the time left changes every 30 s).
    wait_for("a reconcile after restart", lambda: ticks(operator) > 0, 20)
    after = get(control_plane, namespace, "cmr", "mcp")["status"]
    assert (after["stepIndex"], after["stepStartedAt"], after["stepEndsAt"]) == (
        before["stepIndex"],
        before["stepStartedAt"],
        before["stepEndsAt"],
    )
    assert after["attempt"] == before["attempt"]
    control_plane.kubectl(
        "annotate", "cmr", "mcp", "-n", namespace, "codemode.io/request=skip", "--overwrite"
    )
    wait_for("Succeeded", lambda: _phase(control_plane, namespace) == "Succeeded", STEP_TIMEOUT)
    wait_for("last weight seen", lambda: weights.values()[-1:] == ["0 100"], 10)
    assert weights.values() == ["100", "95 5", "75 25", "0 100"]


# A name long enough that cutting `<rollout>-a1-s<step>-g1` at 63 characters gave both gates the
# same Job name (the second create was a swallowed 409 and step 2 waited for good).
LONG_NAME = ("mcp-rollout.prod-" * 4)[:62] + "x"


@pytest.mark.parametrize("name", ["mcp", LONG_NAME])
def test_gate_jobs_run_before_their_steps(
    control_plane: ControlPlane, namespace: str, operator: Operator, name: str
) -> None:
    _gateway_setup(control_plane, namespace)
    smoke = {
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "smoke",
                        "image": "registry.invalid/codemode-mcp:v2",
                        "command": ["codemode-smoke", "--url", "http://mcp-v2/mcp"],
                    }
                ],
            }
        }
    }
    gated = [{"name": "smoke", "job": smoke}]
    steps = [
        {"weight": 5, "pause": {"duration": "2s"}, "gates": gated},
        {"weight": 25, "pause": {"duration": "2s"}, "gates": gated},
        {"weight": 100},
    ]
    apply(control_plane, namespace, rollout(name=name, steps=steps))
    phase = lambda: status(control_plane, namespace, name).get("phase")  # noqa: E731
    wait_for("Succeeded", lambda: phase() == "Succeeded", STEP_TIMEOUT, show=phase)
    selector = f"codemode.io/rollout={rollout_label(name)}"
    listed = json.loads(
        control_plane.kubectl("get", "jobs", "-n", namespace, "-l", selector, "-o", "json")
    )
    jobs = {job["metadata"]["name"]: job for job in listed["items"]}
    assert sorted(jobs) == sorted(
        job_name(name, RunGateJob(step=step, index=0, attempt=1, job={})) for step in (0, 1)
    )
    if name == "mcp":
        assert sorted(jobs) == ["mcp-a1-s1-g1", "mcp-a1-s2-g1"]
    for job in jobs.values():
        assert job["status"].get("succeeded") == 1  # kwok ran its pod to completion
        assert job["metadata"]["ownerReferences"][0]["kind"] == "CodeModeRollout"
