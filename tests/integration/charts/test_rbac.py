"""The operator chart's RBAC, enforced by the real API server, is enough and no more.

The operator runs as real processes with the chart's flags, the chart's ServiceAccount token and
the environment the chart's downward API gives (two replicas, leader election on), and walks the
MCP chart's own Deployments, Services, route and rollout.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest
from codemode_operator.adapters.kube import Kube

from devcluster.cluster import ControlPlane
from devcluster.operator_process import Operator
from devcluster.processes import wait_for
from devcluster.watch import Watch
from tests.charts import MCP_CHART, OPERATOR_CHART, objects, template
from tests.integration.operator.conftest import ROUTE_WEIGHTS, apply, controller, get, holder, ticks

from .conftest import kubectl_as, service_account_kubeconfig

ACCOUNT = "codemode-operator"  # the chart's default ServiceAccount name for this release
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding"}
ROLLOUT_TIMEOUT = 90
LEASE_TIMEOUT = 60
FAST_PLAN = [
    "--set",
    "rollout.steps[0].weight=5,rollout.steps[0].pause.duration=2s",
    "--set",
    "rollout.steps[1].weight=25,rollout.steps[1].pause.duration=2s",
    "--set",
    "rollout.steps[2].weight=50,rollout.steps[2].pause.duration=2s",
    "--set",
    "rollout.steps[3].weight=100",
    "--set",
    "rollout.analysis=null,rollout.scaleDownStable=null,v1.replicas=1,v2.replicas=1",
]


@dataclass(frozen=True)
class Installed:
    operator_args: list[str]
    kubeconfig: Path
    replicas: int

    def operator(self, cp: ControlPlane, namespace: str, logs: Path, pod: str) -> Operator:
        """One replica as the chart runs it: POD_NAME and POD_NAMESPACE from the downward API."""
        env = {
            **cp.env,
            "KUBECONFIG": str(self.kubeconfig),
            "POD_NAME": pod,
            "POD_NAMESPACE": namespace,
        }
        return Operator(cp, namespace, logs / pod, args=self.operator_args, env=env)


def _installed(
    cp: ControlPlane, namespace: str, tmp_path: Path, keep: Callable[[dict[str, Any]], bool]
) -> Installed:
    manifest = template(
        OPERATOR_CHART,
        "codemode-operator",
        namespace,
        "--set",
        f"watchNamespaces={{{namespace}}}",
        "--set-json",
        "tick=0.5",  # --set would pass "0.5", a string
    )
    rbac = [o for o in objects(manifest) if o["kind"] in RBAC_KINDS and keep(o)]
    apply(cp, namespace, *rbac)
    deployment = next(o for o in objects(manifest) if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["codemode-operator"]  # run below as `python -m`
    downward = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert downward == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    kubeconfig = service_account_kubeconfig(cp, namespace, ACCOUNT, tmp_path / "sa.kubeconfig")
    return Installed(container["args"], kubeconfig, deployment["spec"]["replicas"])


@pytest.fixture
def installed(
    control_plane: ControlPlane, rollout_crds: None, namespace: str, tmp_path: Path
) -> Installed:
    """The chart's RBAC for this namespace (with the release's Lease), the account's kubeconfig."""
    return _installed(control_plane, namespace, tmp_path, lambda _: True)


def test_operator_with_the_chart_rbac_completes_a_rollout(
    control_plane: ControlPlane, namespace: str, installed: Installed, tmp_path: Path
) -> None:
    workloads = objects(template(MCP_CHART, "codemode-mcp", namespace, *FAST_PLAN))
    rollout = next(o for o in workloads if o["kind"] == "CodeModeRollout")
    apply(control_plane, namespace, *[o for o in workloads if o is not rollout])
    weights = Watch(
        control_plane,
        namespace,
        "httproute",
        "codemode-mcp",
        ROUTE_WEIGHTS,
        tmp_path / "watch",
    )
    # The chart's default: two replicas, one active.
    assert installed.replicas == 2
    pods = [f"codemode-operator-5d8f7c-{suffix}" for suffix in ("qx2lp", "w7k9t")]
    operators = [installed.operator(control_plane, namespace, tmp_path / "logs", p) for p in pods]
    for operator in operators:
        operator.start()
    try:
        active = wait_for(
            "a replica holds the lease",
            lambda: holder(control_plane, namespace),
            LEASE_TIMEOUT,
        )
        assert active in pods
        apply(control_plane, namespace, rollout)
        wait_for(
            "Succeeded",
            lambda: (
                get(control_plane, namespace, "cmr", "codemode-mcp").get("status", {}).get("phase")
                == "Succeeded"
            ),
            ROLLOUT_TIMEOUT,
            show=lambda: get(control_plane, namespace, "cmr", "codemode-mcp").get("status"),
        )
        wait_for("last weight seen", lambda: weights.values()[-1:] == ["0 100"], 10)
        named = controller(control_plane, namespace, "codemode-mcp")
        work = {pod: ticks(op) for pod, op in zip(pods, operators, strict=True)}
    finally:
        for operator in operators:
            operator.stop()
        weights.stop()
    assert weights.values() == ["100 0", "95 5", "75 25", "50 50", "0 100"]
    assert named["message"] == f"reconciled by {active} (lease {namespace}/codemode-operator)"
    standby = next(p for p in pods if p != active)
    assert work[active] > 0 and work[standby] == 0, work
    events = json.loads(control_plane.kubectl("get", "events", "-n", namespace, "-o", "json"))
    assert not [e["message"] for e in events["items"] if e["reason"] == "ActionFailed"]


def test_without_the_lease_role_rollouts_say_they_wait_for_a_leader(
    control_plane: ControlPlane, rollout_crds: None, namespace: str, tmp_path: Path
) -> None:
    no_lease = _installed(
        control_plane,
        namespace,
        tmp_path,
        lambda o: not o["metadata"]["name"].endswith("-leader-election"),
    )
    operator = no_lease.operator(control_plane, namespace, tmp_path / "logs", "codemode-operator-0")
    operator.start()
    try:
        workloads = objects(template(MCP_CHART, "codemode-mcp", namespace, *FAST_PLAN))
        apply(control_plane, namespace, *workloads)
        found = wait_for(
            "the Controller condition",
            lambda: controller(control_plane, namespace, "codemode-mcp"),
            LEASE_TIMEOUT,
        )
        log = operator.process.log.read_text()  # type: ignore[union-attr]
    finally:
        operator.stop()
    assert (found["status"], found["reason"]) == ("False", "LeaseUnavailable")
    assert "waiting for a leader" in found["message"] and "forbidden" in found["message"]
    assert "the lease cannot be used: 403 Forbidden" in log


def test_a_verb_the_role_lacks_is_denied(
    control_plane: ControlPlane, namespace: str, installed: Installed
) -> None:
    account = f"--as=system:serviceaccount:{namespace}:{ACCOUNT}"

    def can_i(*what: str, where: str = namespace) -> str:
        out = control_plane.kubectl("auth", "can-i", *what, "-n", where, account, check=False)
        return out.strip()

    assert can_i("patch", "deployments", "--subresource=scale") == "yes"
    assert can_i("list", "codemoderollouts.codemode.io") == "yes"
    assert can_i("delete", "deployments") == "no"
    assert can_i("patch", "deployments") == "no"  # only through the scale subresource
    assert can_i("get", "secrets") == "no"
    assert can_i("list", "secrets") == "no"
    # Only the Secret of notification URLs the chart names (notifications.secretNames).
    assert can_i("get", "secret/codemode-notifications") == "yes"
    assert can_i("get", "secret/another") == "no"
    assert can_i("list", "codemoderollouts.codemode.io", where="default") == "no"
    # The leader election: its one Lease by name, in the release namespace.
    assert can_i("update", "lease/codemode-operator") == "yes"
    assert can_i("update", "lease/another") == "no"
    assert can_i("delete", "lease/codemode-operator") == "no"
    apply(control_plane, namespace, *objects(template(MCP_CHART, "codemode-mcp", namespace)))
    attempt = kubectl_as(
        control_plane,
        installed.kubeconfig,
        "delete",
        "deployment",
        "codemode-mcp-v1",
        "-n",
        namespace,
    )
    assert attempt.returncode != 0
    assert "Forbidden" in attempt.stderr and "cannot delete resource" in attempt.stderr
    # What the replicas router and the v1 scale-down do, through the operator's own adapter
    # (kubectl would GET the scale first, which the Role rightly does not allow).
    kube = Kube(kubernetes.config.new_client_from_config(str(installed.kubeconfig)))
    asyncio.run(kube.scale(namespace, "codemode-mcp-v1", 0))
    assert get(control_plane, namespace, "deploy", "codemode-mcp-v1")["spec"]["replicas"] == 0
