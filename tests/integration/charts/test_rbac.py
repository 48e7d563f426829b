"""The operator chart's RBAC, enforced by the real API server, is enough and no more.

The operator runs as a real process with the chart's flags and the chart's ServiceAccount token
(kopf peering on), and walks the MCP chart's own Deployments, Services, route and rollout.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

import kubernetes
import pytest
from codemode_operator.adapters.kube import Kube

from devcluster.cluster import ControlPlane
from tests.charts import MCP_CHART, OPERATOR_CHART, objects, template
from tests.integration.operator.conftest import (
    ROUTE_WEIGHTS,
    Operator,
    Watch,
    apply,
    get,
    wait_for,
)

from .conftest import kubectl_as, service_account_kubeconfig

ACCOUNT = "codemode-operator"  # the chart's default ServiceAccount name for this release
RBAC_KINDS = {"ServiceAccount", "Role", "RoleBinding", "KopfPeering"}
ROLLOUT_TIMEOUT = 90
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


@pytest.fixture
def installed(
    control_plane: ControlPlane, rollout_crds: None, namespace: str, tmp_path: Path
) -> Installed:
    """The chart's RBAC and peering object for this namespace, and the account's kubeconfig."""
    manifest = template(
        OPERATOR_CHART,
        "codemode-operator",
        namespace,
        "--set",
        f"watchNamespaces={{{namespace}}}",
        "--set-json",
        "tick=0.5",  # --set would pass "0.5", a string
    )
    apply(control_plane, namespace, *[o for o in objects(manifest) if o["kind"] in RBAC_KINDS])
    deployment = next(o for o in objects(manifest) if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["codemode-operator"]  # run below as `python -m`
    kubeconfig = service_account_kubeconfig(
        control_plane, namespace, ACCOUNT, tmp_path / "sa.kubeconfig"
    )
    return Installed(container["args"], kubeconfig)


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
    env = {**control_plane.env, "KUBECONFIG": str(installed.kubeconfig)}
    operator = Operator(
        control_plane, namespace, tmp_path / "logs", args=installed.operator_args, env=env
    )
    operator.start()
    try:
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
        peering = get(control_plane, namespace, "kopfpeering", "codemode-operator")
    finally:
        operator.stop()
        weights.stop()
    assert weights.values() == ["100 0", "95 5", "75 25", "50 50", "0 100"]
    assert peering.get("status"), "the operator's keep-alive in the peering object (patch)"
    events = json.loads(control_plane.kubectl("get", "events", "-n", namespace, "-o", "json"))
    assert not [e["message"] for e in events["items"] if e["reason"] == "ActionFailed"]


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
