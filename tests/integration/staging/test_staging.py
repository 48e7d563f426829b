"""The seed's staging checklist on a real node: both images built, the charts installed with
the README's commands, the pods Ready, smoke and soak green, Prometheus finding the pods.
"""

from __future__ import annotations

import httpx
import pytest

from devcluster import staging
from devcluster.processes import wait_until

from .conftest import MCP_NAMESPACE, STAGING_TIMEOUT, kubectl, pods, ready_pods, run_job

pytestmark = [pytest.mark.staging, pytest.mark.slow, pytest.mark.timeout(STAGING_TIMEOUT)]
# The MCP servers of both versions (the release also runs its job store, a Redis pod).
MCP_PODS = "app.kubernetes.io/name=codemode-mcp,codemode.io/version in (v1,v2)"
V2_URL = "http://codemode-mcp-v2/mcp"  # the Service, resolved by the cluster DNS in the Job


def test_readme_install_runs_the_charts_on_the_real_node(
    staging_stack: staging.Staging, installed: list[str]
) -> None:
    assert "STATUS: deployed" in installed[0] and "STATUS: deployed" in installed[1]
    assert installed[2].split()[:2] == ["NAME", "PHASE"] and "codemode-mcp" in installed[2]
    assert staging_stack.node is not None
    running = ready_pods(staging_stack, MCP_NAMESPACE, MCP_PODS, 6)  # the example: 3 v1 + 3 v2
    for pod in running:
        assert pod["spec"]["nodeName"] == staging_stack.node.name
        for status in pod["status"]["containerStatuses"]:
            assert status["image"].startswith("registry.example.com/platform/codemode-")
    operator = pods(staging_stack, "codemode-system", "app.kubernetes.io/name=codemode-operator")
    # The chart's default: two replicas (active/standby through the Lease).
    assert [p["spec"]["serviceAccountName"] for p in operator] == ["codemode-operator"] * 2
    for pod in operator:
        assert pod["status"]["containerStatuses"][0]["image"] == (
            "ghcr.io/codemode-rollout/codemode-operator:0.1.0"
        )


def test_pods_answer_through_the_pod_network(
    staging_stack: staging.Staging, installed: list[str]
) -> None:
    for pod in ready_pods(staging_stack, MCP_NAMESPACE, MCP_PODS, 6):
        address = pod["status"]["podIP"]
        assert address.startswith(staging_stack.network.pod_cidr.rsplit(".", 1)[0])
        assert httpx.get(f"http://{address}:8080/readyz", timeout=10).status_code == 200
    for pod in pods(staging_stack, MCP_NAMESPACE, f"{MCP_PODS},codemode.io/version=v2"):
        # The sidecar listens on the pod's loopback only: ask from inside its container.
        status = kubectl(
            staging_stack,
            "exec",
            "-n",
            MCP_NAMESPACE,
            pod["metadata"]["name"],
            "-c",
            "sandbox",
            "--",
            "python",
            "-c",
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8090/health', timeout=5).status)",
        )
        assert status.strip() == "200"


def test_smoke_passes_the_seed_bars_in_the_cluster(
    staging_stack: staging.Staging, installed: list[str]
) -> None:
    smoke = run_job(staging_stack, "smoke", ["codemode-smoke", "--url", V2_URL, "--json"])
    summary = smoke["summary"]
    assert smoke["succeeded"], summary
    assert (summary["ok"], summary["total"]) == (50, 50), summary
    assert summary["p50_ms"] < 500 and summary["p95_ms"] < 2000, summary


def test_soak_has_no_failure_over_1000_calls(
    staging_stack: staging.Staging, installed: list[str]
) -> None:
    soak = run_job(staging_stack, "soak", ["codemode-soak", "--url", V2_URL, "--json"])
    summary = soak["summary"]
    assert soak["succeeded"], summary
    assert (summary["failed"], summary["total"]) == (0, 1000), summary


def test_prometheus_discovers_every_mcp_pod(
    staging_stack: staging.Staging, installed: list[str]
) -> None:
    assert staging_stack.prometheus is not None
    expected = {p["metadata"]["name"] for p in pods(staging_stack, MCP_NAMESPACE, MCP_PODS)}

    def discovered() -> set[str]:
        up = staging_stack.prometheus.query(
            f'up{{job="kubernetes-pods",namespace="{MCP_NAMESPACE}"}} == 1'
        )  # type: ignore[union-attr]
        return {series["metric"]["pod"] for series in up}

    wait_until(
        "Prometheus scraping every MCP pod", lambda: discovered() == expected, 60, interval=1
    )
