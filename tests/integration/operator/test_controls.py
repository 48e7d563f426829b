"""pause, resume, promote, skip, abort and retry with plain kubectl, as the README documents."""

from __future__ import annotations

from typing import Any

from devcluster.cluster import ControlPlane
from devcluster.operator_process import Operator
from devcluster.processes import wait_for
from devcluster.workload import gateway_workloads, rollout

from .conftest import apply, get, status

TIMEOUT = 60


def _route_weight(cp: ControlPlane, ns: str) -> list[int]:
    refs = get(cp, ns, "httproute", "mcp")["spec"]["rules"][-1]["backendRefs"]  # the split rule
    return [r.get("weight", 1) for r in refs]


def _pin_rules(cp: ControlPlane, ns: str) -> list[str]:
    return [r["name"] for r in get(cp, ns, "httproute", "mcp")["spec"]["rules"] if r.get("name")]


def _request(cp: ControlPlane, ns: str, name: str) -> None:
    cp.kubectl("annotate", "cmr", "mcp", "-n", ns, f"codemode.io/request={name}", "--overwrite")


def _at(cp: ControlPlane, ns: str, phase: str, step: str | None = None) -> dict[str, Any]:
    return wait_for(
        f"{phase} {step or ''}",
        lambda: (
            (s := status(cp, ns)).get("phase") == phase
            and (step is None or s.get("step") == step)
            and s
        ),
        TIMEOUT,
    )


def _setup(cp: ControlPlane, ns: str, steps: list[dict[str, Any]]) -> None:
    apply(cp, ns, *gateway_workloads(), rollout(steps=steps))


def test_promote_approves_a_manual_step(
    control_plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    _setup(
        control_plane, namespace, [{"weight": 5, "pause": {"untilApproved": True}}, {"weight": 100}]
    )
    current = _at(control_plane, namespace, "Progressing", "1/2")
    wait_for(
        "waiting for approval",
        lambda: any(
            c["reason"] == "WaitingForApproval"
            for c in status(control_plane, namespace)["conditions"]
        ),
        TIMEOUT,
    )
    assert current["canaryWeight"] == 5
    _request(control_plane, namespace, "promote")
    _at(control_plane, namespace, "Succeeded")
    wait_for(
        "annotation removed",
        lambda: (
            "codemode.io/request"
            not in (
                get(control_plane, namespace, "cmr", "mcp")["metadata"].get("annotations") or {}
            )
        ),
        TIMEOUT,
    )
    assert status(control_plane, namespace)["lastRequest"]["outcome"] == "Applied"


def test_skip_pause_resume_abort_retry(
    control_plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    hour = {"duration": "1h"}
    _setup(
        control_plane,
        namespace,
        [{"weight": 5, "pause": hour}, {"weight": 25, "pause": hour}, {"weight": 100}],
    )
    _at(control_plane, namespace, "Progressing", "1/3")
    _request(control_plane, namespace, "skip")
    _at(control_plane, namespace, "Progressing", "2/3")
    wait_for("weight 25", lambda: _route_weight(control_plane, namespace) == [75, 25], TIMEOUT)

    control_plane.kubectl(
        "patch", "cmr", "mcp", "-n", namespace, "--type=merge", "-p", '{"spec":{"paused":true}}'
    )
    _at(control_plane, namespace, "Paused", "2/3")
    _request(
        control_plane, namespace, "skip"
    )  # skipping while paused ends the dwell, not the pause
    wait_for(
        "skip recorded",
        lambda: (
            status(control_plane, namespace).get("lastRequest", {}).get("name") == "skip"
            and "codemode.io/request"
            not in (
                get(control_plane, namespace, "cmr", "mcp")["metadata"].get("annotations") or {}
            )
        ),
        TIMEOUT,
    )
    assert status(control_plane, namespace)["phase"] == "Paused"
    assert _route_weight(control_plane, namespace) == [75, 25]
    control_plane.kubectl(
        "patch", "cmr", "mcp", "-n", namespace, "--type=merge", "-p", '{"spec":{"paused":false}}'
    )
    _at(control_plane, namespace, "Succeeded")

    _request(control_plane, namespace, "abort")
    current = _at(control_plane, namespace, "Aborted")
    wait_for("weight 0", lambda: _route_weight(control_plane, namespace) == [100, 0], TIMEOUT)
    # v2's pin went with its weight: its conversations reach v1 (one 404 each, then v1).
    wait_for("v2 unpinned", lambda: _pin_rules(control_plane, namespace) == ["codemode-pin-v1"], 5)
    assert any(c["type"] == "RolledBack" and c["status"] == "True" for c in current["conditions"])
    assert get(control_plane, namespace, "deploy", "mcp-v2")["spec"]["replicas"] == 2  # kept

    _request(control_plane, namespace, "retry")
    _at(control_plane, namespace, "Progressing", "1/3")
    wait_for("weight 5 again", lambda: _route_weight(control_plane, namespace) == [95, 5], TIMEOUT)


def test_refused_request_says_why(
    control_plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    _setup(control_plane, namespace, [{"weight": 5, "pause": {"duration": "1h"}}, {"weight": 100}])
    _at(control_plane, namespace, "Progressing", "1/2")
    _request(control_plane, namespace, "retry")
    last = wait_for("refusal", lambda: status(control_plane, namespace).get("lastRequest"), TIMEOUT)
    assert last["outcome"] == "Refused" and "retry" in last["message"]
    events = control_plane.kubectl(
        "get", "events", "-n", namespace, "--field-selector=reason=RequestRefused", "-o", "name"
    )
    assert events.strip()


def test_kubectl_get_cmr_columns(
    control_plane: ControlPlane, namespace: str, operator: Operator
) -> None:
    _setup(control_plane, namespace, [{"weight": 5, "pause": {"duration": "1h"}}, {"weight": 100}])
    _at(control_plane, namespace, "Progressing", "1/2")
    out = control_plane.kubectl("get", "cmr", "-n", namespace)
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "STEP", "V2-WEIGHT", "TIME-LEFT", "AGE"]
    name, phase, step, weight, left, _age = row.split()
    assert (name, phase, step, weight) == ("mcp", "Progressing", "1/2", "5")
    assert left in ("1h", "59m")  # an hour's dwell has just begun
    # The step's Event is posted after its weight is read back: wait for it to show up.
    described = wait_for(
        "describe with events",
        lambda: (
            (d := control_plane.kubectl("describe", "cmr", "mcp", "-n", namespace))
            and "StepStarted" in d
            and d
        ),
        TIMEOUT,
    )
    assert "Conditions:" in described and "Dwelling" in described
