"""Rollouts by the in-cluster operator (its image, its chart's RBAC) against the real pods,
with Prometheus discovering them and Traefik as the Gateway: v2 cut off from its backend is
rolled back; retried once healthy, it succeeds. The Gateway's data plane follows every weight
the operator writes: the delay from the HTTPRoute change to Traefik running it is printed (its
distribution is benchmarks.bench_gateway's); the assertions are on correctness, bounded waits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import pytest
from codemode_operator.adapters.routers.gateway_api import is_pin_rule

from devcluster import staging
from devcluster.processes import wait_until
from tests.charts import REPO

from .conftest import MCP_NAMESPACE, STAGING_TIMEOUT, kubectl, pods, start_job

pytestmark = [pytest.mark.staging, pytest.mark.slow, pytest.mark.timeout(STAGING_TIMEOUT)]
FAST_PLAN = REPO / "tests" / "integration" / "staging" / "fast-plan-values.yaml"
ROLLOUT = "codemode-mcp"
PUBLIC_HOST = "mcp.example.com"  # the example values' hostname
PUBLIC_URL = f"http://{PUBLIC_HOST}/mcp"
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


def _split(route: dict[str, Any]) -> dict[str, int]:
    """Service -> weight in the route's weighted rule (the operator's pin rules come first)."""
    rule = next(r for r in route["spec"]["rules"] if not is_pin_rule(r))
    return {ref["name"]: ref["weight"] for ref in rule["backendRefs"]}


def _weights(stack: staging.Staging) -> list[int]:
    route = json.loads(
        kubectl(stack, "get", "httproute", ROLLOUT, "-n", MCP_NAMESPACE, "-o", "json")
    )
    return list(_split(route).values())


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


class RouteFollower(threading.Thread):
    """Every 100 ms: the weights the HTTPRoute says (API server) and the Gateway runs (Traefik)."""

    def __init__(self, stack: staging.Staging, limit: float = PHASE_TIMEOUT) -> None:
        super().__init__(daemon=True)
        assert stack.cp is not None and stack.gateway is not None
        self.gateway = stack.gateway
        client = kubernetes.config.new_client_from_config(str(stack.cp.kubeconfig))
        self.api = kubernetes.client.CustomObjectsApi(client)
        self.samples: list[tuple[float, dict[str, int], dict[str, int]]] = []
        self.done = threading.Event()
        self.deadline = time.monotonic() + limit

    def _route(self) -> dict[str, int]:
        route = self.api.get_namespaced_custom_object(
            "gateway.networking.k8s.io", "v1", MCP_NAMESPACE, "httproutes", ROLLOUT
        )
        return _split(route)

    def _applied(self) -> dict[str, int]:
        """The weights of Traefik's router for the weighted rule (the last: pins come first)."""
        routers = self.gateway.applied_weights(MCP_NAMESPACE, ROLLOUT)
        return routers[-1] if routers else {}

    def run(self) -> None:
        while not self.done.is_set() and time.monotonic() < self.deadline:
            now = time.monotonic()
            self.samples.append((now, self._route(), self._applied()))
            self.done.wait(0.1)

    def __enter__(self) -> RouteFollower:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join(timeout=10)

    def delays(self) -> list[tuple[dict[str, int], float | None]]:
        """Each weight the route took, and how long until the Gateway ran it (None: never)."""
        changes: list[tuple[float, dict[str, int]]] = []
        for at, route, _ in self.samples:
            if not changes or changes[-1][1] != route:
                changes.append((at, route))
        result = []
        for at, route in changes:
            applied = next((t for t, _, a in self.samples if t >= at and a == route), None)
            result.append((route, None if applied is None else applied - at))
        return result


def _served_through_gateway(stack: staging.Staging, n: int) -> dict[str, int]:
    """`n` requests to the public host through the Gateway; the Services Traefik passed them to."""
    assert stack.gateway is not None
    before = stack.gateway.served(MCP_NAMESPACE)
    with httpx.Client(
        base_url=stack.gateway.url, headers={"Host": PUBLIC_HOST}, timeout=10
    ) as client:
        for _ in range(n):
            # The route serves /mcp only; a GET there (no MCP session) answers 4xx from the pod.
            assert client.get("/mcp").status_code < 500
    wait_until(
        "the access log",
        lambda: sum((stack.gateway.served(MCP_NAMESPACE) - before).values()) >= n,
        10,
    )  # type: ignore[union-attr]
    return dict(stack.gateway.served(MCP_NAMESPACE) - before)


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
    assert _served_through_gateway(staging_stack, 20) == {"codemode-mcp-v1": 20}
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
    with RouteFollower(staging_stack) as follower, _traffic(staging_stack):
        succeeded = _wait_phase(staging_stack, "Succeeded")
        wait_until(
            "the Gateway running 100% v2",
            lambda: follower.samples[-1][2] == {"codemode-mcp-v1": 0, "codemode-mcp-v2": 100},
            30,
        )
    assert _weights(staging_stack) == [0, 100]
    delays = follower.delays()
    print(
        "HTTPRoute change -> Gateway running it: "
        + ", ".join(
            f"v2={route['codemode-mcp-v2']}%: {'never' if d is None else f'{d * 1000:.0f} ms'}"
            for route, d in delays
        )
    )
    assert [r["codemode-mcp-v2"] for r, _ in delays] == [0, 5, 25, 50, 100]
    assert all(d is not None for _, d in delays), delays
    assert _served_through_gateway(staging_stack, 20) == {"codemode-mcp-v2": 20}
    assert succeeded["attempt"] == 2
    reasons = [entry.get("reason") for entry in succeeded.get("history", [])]
    assert "AnalysisFailed" in reasons, reasons
    operator_logs = kubectl(  # both replicas: the active one and the standby
        staging_stack,
        "logs",
        "-n",
        "codemode-system",
        "-l",
        "app.kubernetes.io/name=codemode-operator",
        "--tail=-1",
        check=False,
    )
    assert "Forbidden" not in operator_logs
    _smoke_and_soak_through_the_gateway(staging_stack)


def _through_gateway(stack: staging.Staging, tool: str) -> dict[str, Any]:
    """A tool run on the host against the public URL, the Gateway as its HTTP proxy (as DNS
    would send it there): Traefik routes by the Host the URL names."""
    assert stack.gateway is not None
    env = {**os.environ, "HTTP_PROXY": stack.gateway.url, "NO_PROXY": ""}
    done = subprocess.run(
        [str(Path(sys.executable).parent / tool), "--url", PUBLIC_URL, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.stdout.strip(), done.stderr
    return {
        "summary": json.loads(done.stdout.strip().splitlines()[-1]),
        "succeeded": done.returncode == 0,
    }


def _smoke_and_soak_through_the_gateway(staging_stack: staging.Staging) -> None:
    """The seed's bars against the public URL once all traffic is on v2 (a session that met
    both versions mid-split would fail: that is the session work's, not this tier's)."""
    assert staging_stack.gateway is not None
    before = staging_stack.gateway.served(MCP_NAMESPACE)
    smoke = _through_gateway(staging_stack, "codemode-smoke")
    summary = smoke["summary"]
    assert smoke["succeeded"], summary
    assert (summary["ok"], summary["total"]) == (50, 50), summary
    assert summary["p50_ms"] < 500 and summary["p95_ms"] < 2000, summary
    soak = _through_gateway(staging_stack, "codemode-soak")
    assert soak["succeeded"] and (soak["summary"]["failed"], soak["summary"]["total"]) == (
        0,
        1000,
    ), soak
    served = staging_stack.gateway.served(MCP_NAMESPACE) - before
    assert sum(served.values()) >= 1050, served  # every call went through Traefik
