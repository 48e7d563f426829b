"""The local control plane is the real thing: controllers, scheduling, readiness, validation."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

import yaml

from devcluster.cluster import ControlPlane
from devcluster.processes import wait_for

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.invalid/web:1}]
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.codemode.io}
spec:
  group: example.codemode.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1, maximum: 10}
"""


def _wait_json(
    cp: ControlPlane, args: list[str], done: Callable[[dict], bool], timeout: float
) -> dict:
    def read() -> dict:
        return dict(json.loads(cp.kubectl(*args, "-o", "json")))

    return wait_for(
        f"`kubectl {' '.join(args)}` to meet its condition",
        lambda: (obj := read()) and done(obj) and obj,
        timeout,
        0.5,
        show=lambda: json.dumps(read())[:2000],
    )


def test_deployment_gets_two_ready_replicas(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=DEPLOYMENT)
    obj = _wait_json(
        control_plane,
        ["get", "deploy", "web", "-n", namespace],
        lambda d: d.get("status", {}).get("readyReplicas") == 2,
        90,
    )
    assert obj["status"]["availableReplicas"] == 2


def test_crd_schema_rejects_invalid_object(control_plane: ControlPlane, namespace: str) -> None:
    control_plane.kubectl("apply", "-f", "-", input=CRD)
    control_plane.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/widgets.example.codemode.io"
    )
    bad = {
        "apiVersion": "example.codemode.io/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 99},
    }
    out = control_plane.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(bad), check=False
    )
    assert "spec.size" in out and "should be less than or equal to 10" in out
    good = {**bad, "spec": {"size": 3}}
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(good))


def test_kubectl_lists_nodes_and_deployments(control_plane: ControlPlane) -> None:
    out = subprocess.run(
        ["kubectl", "--kubeconfig", str(control_plane.kubeconfig), "get", "nodes,deploy", "-A"],
        env=control_plane.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "kwok-node-0" in out
