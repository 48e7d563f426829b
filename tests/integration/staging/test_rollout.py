"""Rollouts by the in-cluster operator (its image, its chart's RBAC) against the real pods,
with Prometheus discovering them: v2 cut off from its backend is rolled back; retried once
healthy, it succeeds.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from devcluster import staging
from devcluster.processes import wait_until
from tests.charts import REPO

from .conftest import MCP_NAMESPACE, kubectl, pods, start_job

pytestmark = [pytest.mark.staging, pytest.mark.slow]
FAST_PLAN = REPO / "tests" / "integration" / "staging" / "fast-plan-values.yaml"
ROLLOUT = "codemode-mcp"
PHASE_TIMEOUT = 420
# Both versions get traffic while the rollout runs: the analysis compares v2 with live v1.
TRAFFIC = [
    "--requests",
    "20000",
    "--concurrency",
    "2",
    "--json",
]  # outlasts the phase; deleted after


def _status(stack: staging.Staging) -> dict[str, Any]:
    cmr = json.loads(kubectl(stack, "get", "cmr", ROLLOUT, "-n", MCP_NAMESPACE, "-o", "json"))
    return dict(cmr.get("status", {}))


def _weights(stack: staging.Staging) -> list[int]:
    route = json.loads(
        kubectl(stack, "get", "httproute", ROLLOUT, "-n", MCP_NAMESPACE, "-o", "json")
    )
    return [ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]]


def _wait_phase(stack: staging.Staging, phase: str) -> dict[str, Any]:
    try:
        wait_until(
            f"rollout {phase}",
            lambda: _status(stack).get("phase") == phase,
            PHASE_TIMEOUT,
            interval=1,
        )
    except TimeoutError as exc:
        raise AssertionError(f"{exc}: status={json.dumps(_status(stack))[:3000]}") from exc
    return _status(stack)


@contextmanager
def _traffic(stack: staging.Staging) -> Iterator[None]:
    """Soak Jobs on v1 and v2 through their Services while the block runs."""
    jobs = [
        start_job(
            stack,
            f"traffic-{version}",
            ["codemode-soak", "--url", f"http://codemode-mcp-{version}/mcp", *TRAFFIC],
        )
        for version in ("v1", "v2")
    ]
    try:
        yield
    finally:
        for job in jobs:
            kubectl(stack, "delete", "job", job, "-n", MCP_NAMESPACE, "--wait=false", check=False)


@contextmanager
def _backend_cut_off_from_v2(stack: staging.Staging) -> Iterator[None]:
    """The node's network refuses v2's connections to the backend: its calls fail as `infra`."""
    v2 = [p["status"]["podIP"] for p in pods(stack, MCP_NAMESPACE, "codemode.io/version=v2")]
    rules = [
        [
            "FORWARD",
            "-s",
            ip,
            "-p",
            "tcp",
            "--dport",
            "8080",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ]
        for ip in v2
    ]
    for rule in rules:
        stack.network.run("iptables", "-I", *rule)
    try:
        yield
    finally:
        for rule in rules:
            stack.network.run("iptables", "-D", *rule, check=False)


def test_in_cluster_operator_rolls_back_on_infra_errors_then_succeeds(
    staging_stack: staging.Staging, installed: list[str]
) -> None:
    assert staging_stack.cp is not None
    upgrade = subprocess.run(
        [
            str(staging_stack.cp.bin_dir / "helm"),
            "upgrade",
            "codemode-mcp",
            "charts/codemode-mcp",
            "--namespace",
            MCP_NAMESPACE,
            "--reuse-values",
            "--values",
            str(FAST_PLAN),
        ],
        env=staging_stack.cp.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert upgrade.returncode == 0, upgrade.stderr
    with _backend_cut_off_from_v2(staging_stack), _traffic(staging_stack):
        rolled_back = _wait_phase(staging_stack, "RolledBack")
    assert _weights(staging_stack) == [100, 0]
    analysis = rolled_back["analysis"]
    assert (
        analysis["canaryTotal"]["infraErrors"] > 0 and analysis["infraErrors"]["verdict"] == "Fail"
    ), analysis

    kubectl(
        staging_stack,
        "annotate",
        "cmr",
        ROLLOUT,
        "-n",
        MCP_NAMESPACE,
        "codemode.io/request=retry",
        "--overwrite",
    )
    with _traffic(staging_stack):
        succeeded = _wait_phase(staging_stack, "Succeeded")
    assert _weights(staging_stack) == [0, 100]
    assert succeeded["attempt"] == 2
    reasons = [entry.get("reason") for entry in succeeded.get("history", [])]
    assert "AnalysisFailed" in reasons, reasons
    operator_logs = kubectl(
        staging_stack, "logs", "-n", "codemode-system", "deploy/codemode-operator", check=False
    )
    assert "Forbidden" not in operator_logs
