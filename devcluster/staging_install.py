"""What runs on the staging stack (devcluster/staging.py): the sample backend the example values
name, both charts installed by the README's commands, and bounded waits for their Deployments.

The staging tests and `make demo` install the same way; on a timeout the error carries what an
SRE would look at (the pods, the last lines of crash-looping containers, the events).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from devcluster import install_doc
from devcluster.processes import wait_until
from devcluster.staging import Staging

MCP_NAMESPACE = "mcp"  # the README's install commands
OPERATOR_NAMESPACE = "codemode-system"
# charts/codemode-mcp/ci/cluster-values.yaml: platform-api.platform.svc
BACKEND_NAMESPACE = "platform"
BACKEND = "platform-api"
BACKEND_PORT = 8080
BACKEND_IMAGE = "registry.example.com/platform/codemode-mcp:0.1.0"  # it ships the sample backend
READY_TIMEOUT = 420


def kubectl(stack: Staging, *args: str, input: str | None = None, check: bool = True) -> str:
    assert stack.cp is not None
    return stack.cp.kubectl(*args, input=input, check=check)


def apply(stack: Staging, *objects: dict[str, Any]) -> None:
    kubectl(stack, "apply", "-f", "-", input=yaml.safe_dump_all(objects))


def pods(stack: Staging, namespace: str, selector: str) -> list[dict[str, Any]]:
    listed = json.loads(
        kubectl(stack, "get", "pods", "-n", namespace, "-l", selector, "-o", "json")
    )
    return list(listed["items"])


def sample_backend(name: str = BACKEND) -> list[dict[str, Any]]:
    """A sample backend `name` in the backend namespace, from the mcp image (its
    `codemode-sample-backend`), ready once its fault switch answers."""
    labels = {"app": name}
    meta = {"name": name, "namespace": BACKEND_NAMESPACE}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": BACKEND_NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "api",
                                "image": BACKEND_IMAGE,
                                "command": ["codemode-sample-backend"],
                                "args": [
                                    "--host=0.0.0.0",
                                    f"--port={BACKEND_PORT}",
                                    "--build-seconds=0.2",
                                ],
                                "ports": [{"name": "http", "containerPort": BACKEND_PORT}],
                                "readinessProbe": {
                                    "httpGet": {"path": "/admin/faults", "port": "http"}
                                },
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": BACKEND_PORT, "targetPort": "http"}],
            },
        },
    ]


def _unavailable(stack: Staging, namespace: str) -> list[str]:
    """Deployments not yet rolled out (as `kubectl rollout status` judges): a status of an
    older generation (just after an upgrade, before the controller saw it) counts as not."""
    listed = json.loads(kubectl(stack, "get", "deployments", "-n", namespace, "-o", "json"))
    return [
        d["metadata"]["name"]
        for d in listed["items"]
        if d["status"].get("observedGeneration", 0) < d["metadata"]["generation"]
        or d["status"].get("availableReplicas", 0) < d["spec"]["replicas"]
        or d["status"].get("updatedReplicas", 0) < d["spec"]["replicas"]
        or d["status"].get("replicas", 0) > d["spec"]["replicas"]  # old pods not yet gone
    ]


def _crash_logs(stack: Staging, namespace: str) -> str:
    """The last lines of every container that restarted: why a pod crash-loops."""
    listed = json.loads(kubectl(stack, "get", "pods", "-n", namespace, "-o", "json"))
    logs = []
    for pod in listed["items"]:
        for container in pod["status"].get("containerStatuses", []):
            if container.get("restartCount", 0):
                name = f"{pod['metadata']['name']}/{container['name']}"
                out = kubectl(
                    stack, "logs", "-n", namespace, pod["metadata"]["name"], "-c",
                    container["name"], "--previous", "--tail=25", check=False,
                )  # fmt: skip
                logs.append(f"--- {name} (previous run)\n{out}")
    return "\n".join(logs[:4])


def wait_available(stack: Staging, namespace: str, timeout: float = READY_TIMEOUT) -> None:
    """Every Deployment of the namespace has all its replicas updated and available."""
    try:
        wait_until(
            f"deployments in {namespace} Available",
            lambda: not _unavailable(stack, namespace),
            timeout,
            interval=2,
        )
    except TimeoutError as exc:
        listed = kubectl(stack, "get", "pods", "-n", namespace, "-o", "wide", check=False)
        events = kubectl(
            stack, "get", "events", "-n", namespace, "--sort-by=.lastTimestamp", check=False
        )
        raise TimeoutError(
            f"{exc}: {_unavailable(stack, namespace)}\n{listed}\n{_crash_logs(stack, namespace)}"
            f"\n{events[-4000:]}"
        ) from exc


def install(
    stack: Staging,
    backends: Sequence[str] = (BACKEND,),
    values: Mapping[str, Sequence[Path]] | None = None,
) -> list[str]:
    """The sample `backends`, then both charts by the README's commands (with extra `values`
    files per release, if any), every pod Available; the commands' outputs."""
    apply(stack, *(obj for name in backends for obj in sample_backend(name)))
    wait_available(stack, BACKEND_NAMESPACE)
    assert stack.cp is not None
    outputs = install_doc.run_doc_commands(stack.cp.env, values)
    wait_available(stack, OPERATOR_NAMESPACE)
    wait_available(stack, MCP_NAMESPACE)
    return outputs
