"""The staging tier: the project's own images as pods on a real kubelet + containerd node.

One staging stack per session (devcluster/staging.py: control plane, real node, registry,
cluster DNS, Prometheus discovering the pods), installed once with the README's own commands
(devcluster/staging_install.py, as `make demo` installs);
the tests then look at it from outside, as an SRE would. When it stops, nothing of it may be
left on the host: no process, mount, network namespace, route or cgroup.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devcluster import staging, staging_install
from devcluster.processes import stopping, wait_until
from devcluster.staging_install import (
    BACKEND_IMAGE,
    MCP_NAMESPACE,
    READY_TIMEOUT,
    apply,
    kubectl,
    pods,
)

# A test's bound, its share of the session's set-up included: on a fresh machine the first
# one waits for the images to build (every wait inside is bounded on its own).
STAGING_TIMEOUT = 3000


@pytest.fixture(scope="session")
def staging_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[staging.Staging]:
    with stopping(staging.start(tmp_path_factory.mktemp("staging"))) as stack:
        yield stack
    left = stack.leftovers()
    assert not left, f"the staging stack left behind: {left}"


@pytest.fixture(scope="session")
def installed(staging_stack: staging.Staging) -> list[str]:
    """Both charts installed by the README's commands on the real node, every pod Available."""
    return staging_install.install(staging_stack)


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
