"""The staging tier: the project's own images as pods on a real kubelet + containerd node.

One staging stack per session (devcluster/staging.py: control plane, real node, registry,
cluster DNS, Prometheus discovering the pods), installed once with the README's own commands;
the tests then look at it from outside, as an SRE would. When it stops, nothing of it may be
left on the host: no process, mount, network namespace, route or cgroup.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devcluster import staging
from devcluster.processes import wait_until
from tests.charts import run_doc_commands

MCP_NAMESPACE = "mcp"  # the README's install commands
BACKEND_NAMESPACE = (
    "platform"  # charts/codemode-mcp/ci/cluster-values.yaml: platform-api.platform.svc
)
BACKEND_IMAGE = "registry.example.com/platform/codemode-mcp:0.1.0"  # it ships the sample backend
READY_TIMEOUT = 420
# A test's bound, its share of the session's set-up included: on a fresh machine the first
# one waits for the images to build (every wait inside is bounded on its own).
STAGING_TIMEOUT = 3000


def _leftovers(stack: staging.Staging) -> list[str]:
    found = []
    if stack.network.netns_path.exists():
        found.append(f"network namespace {stack.network.netns}")
    if Path(f"/sys/class/net/{stack.network.host_link}").exists():
        found.append(f"link {stack.network.host_link}")
    mounts = Path("/proc/self/mountinfo").read_text()
    if str(stack.workdir) in mounts:
        found.append("mounts under the workdir")
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        if (hierarchy / stack.network.netns).exists():
            found.append(f"cgroup {hierarchy.name}/{stack.network.netns}")
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(stack.workdir) in cmdline:
            found.append(f"process {proc.name}: {cmdline.replace(chr(0), ' ')[:120]}")
    return found


@pytest.fixture(scope="session")
def staging_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[staging.Staging]:
    stack = staging.start(tmp_path_factory.mktemp("staging"))
    try:
        yield stack
    finally:
        stack.stop()
    left = _leftovers(stack)
    assert not left, f"the staging stack left behind: {left}"


def kubectl(
    stack: staging.Staging, *args: str, input: str | None = None, check: bool = True
) -> str:
    assert stack.cp is not None
    return stack.cp.kubectl(*args, input=input, check=check)


def apply(stack: staging.Staging, *objects: dict[str, Any]) -> None:
    kubectl(stack, "apply", "-f", "-", input=yaml.safe_dump_all(objects))


def _sample_backend() -> list[dict[str, Any]]:
    """The backend the example values name, from the mcp image (its `codemode-sample-backend`)."""
    labels = {"app": "platform-api"}
    meta = {"name": "platform-api", "namespace": BACKEND_NAMESPACE}
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
                                "args": ["--host=0.0.0.0", "--port=8080", "--build-seconds=0.2"],
                                "ports": [{"name": "http", "containerPort": 8080}],
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
                "ports": [{"name": "http", "port": 8080, "targetPort": "http"}],
            },
        },
    ]


def _unavailable(stack: staging.Staging, namespace: str) -> list[str]:
    listed = json.loads(kubectl(stack, "get", "deployments", "-n", namespace, "-o", "json"))
    return [
        d["metadata"]["name"]
        for d in listed["items"]
        if d["status"].get("availableReplicas", 0) < d["spec"]["replicas"]
        or d["status"].get("updatedReplicas", 0) < d["spec"]["replicas"]
    ]


def wait_available(stack: staging.Staging, namespace: str, timeout: float = READY_TIMEOUT) -> None:
    """Every Deployment of the namespace has all its replicas updated and available."""
    try:
        wait_until(
            f"deployments in {namespace} Available",
            lambda: not _unavailable(stack, namespace),
            timeout,
            interval=2,
        )
    except TimeoutError as exc:
        pods = kubectl(stack, "get", "pods", "-n", namespace, "-o", "wide", check=False)
        events = kubectl(
            stack, "get", "events", "-n", namespace, "--sort-by=.lastTimestamp", check=False
        )
        raise AssertionError(
            f"{exc}: {_unavailable(stack, namespace)}\n{pods}\n{_crash_logs(stack, namespace)}"
            f"\n{events[-4000:]}"
        ) from exc


def _crash_logs(stack: staging.Staging, namespace: str) -> str:
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
                )
                logs.append(f"--- {name} (previous run)\n{out}")
    return "\n".join(logs[:4])


@pytest.fixture(scope="session")
def installed(staging_stack: staging.Staging) -> list[str]:
    """Both charts installed by the README's commands on the real node, every pod Available."""
    apply(staging_stack, *_sample_backend())
    wait_available(staging_stack, BACKEND_NAMESPACE)
    assert staging_stack.cp is not None
    outputs = run_doc_commands(staging_stack.cp.env)
    wait_available(staging_stack, "codemode-system")
    wait_available(staging_stack, MCP_NAMESPACE)
    return outputs


def pods(stack: staging.Staging, namespace: str, selector: str) -> list[dict[str, Any]]:
    listed = json.loads(
        kubectl(stack, "get", "pods", "-n", namespace, "-l", selector, "-o", "json")
    )
    return list(listed["items"])


def start_job(stack: staging.Staging, name: str, args: list[str]) -> str:
    """A tool of the mcp image as a Job in the mcp namespace (the way SREs run smoke and soak)."""
    job = f"{name}-{uuid.uuid4().hex[:6]}"
    apply(
        stack,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": job, "namespace": MCP_NAMESPACE},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": name, "image": BACKEND_IMAGE, "command": args}],
                    }
                },
            },
        },
    )
    return job


def job_result(stack: staging.Staging, job: str, timeout: float = 600) -> dict[str, Any]:
    """Wait for the Job to finish; its `--json` summary and whether it succeeded."""

    def status() -> dict[str, Any]:
        return dict(
            json.loads(kubectl(stack, "get", "job", job, "-n", MCP_NAMESPACE, "-o", "json"))[
                "status"
            ]
        )

    wait_until(
        f"job {job} finished",
        lambda: status().get("succeeded") or status().get("failed"),
        timeout,
        interval=2,
    )
    logs = kubectl(stack, "logs", f"job/{job}", "-n", MCP_NAMESPACE, check=False)
    lines = [line for line in logs.splitlines() if line.startswith("{")]
    assert lines, f"job {job}: no JSON summary; status={status()} logs={logs[-3000:]}"
    return {"summary": json.loads(lines[-1]), "succeeded": status().get("succeeded", 0) == 1}


def run_job(
    stack: staging.Staging, name: str, args: list[str], timeout: float = 600
) -> dict[str, Any]:
    return job_result(stack, start_job(stack, name, args), timeout)


def ready_pods(
    stack: staging.Staging, namespace: str, selector: str, count: int
) -> list[dict[str, Any]]:
    """The `count` pods of `selector` once every one is Ready (a probe that timed out on a
    loaded machine makes a pod unready for a while: wait, bounded, rather than catch it)."""

    def all_ready() -> list[dict[str, Any]]:
        found = [
            p
            for p in pods(stack, namespace, selector)
            if not p["metadata"].get("deletionTimestamp")
        ]
        ready = [
            p
            for p in found
            if all(c.get("ready") for c in p["status"].get("containerStatuses", [{}]))
        ]
        return ready if len(ready) == count == len(found) else []

    wait_until(
        f"{count} pods {selector} Ready", lambda: bool(all_ready()), READY_TIMEOUT, interval=2
    )
    return all_ready()
