"""The MCP workload as the local cluster sees it: Deployments whose pods kwok fakes, their
Services and an HTTPRoute with all traffic on v1 (where every rollout starts). Shared by the
operator's integration tests and bench_operator (the demo runs the charts on a real node)."""

from __future__ import annotations

from typing import Any


def deployment(
    name: str, version: str, replicas: int = 2, pool: str | None = None
) -> dict[str, Any]:
    labels = {"app": "mcp", "version": version}
    pod_spec: dict[str, Any] = {
        "containers": [{"name": "mcp", "image": f"registry.invalid/codemode-mcp:{version}"}],
    }
    if pool:  # no node carries the label until a test adds it: pods stay Pending
        pod_spec["nodeSelector"] = {"codemode.io/pool": pool}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def service(name: str, version: str | None) -> dict[str, Any]:
    selector = {"app": "mcp", **({"version": version} if version else {})}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8000}]},
    }


def http_route(name: str = "mcp") -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": "mcp-gateway"}],
            "rules": [{"backendRefs": [{"name": "mcp-v1", "port": 80, "weight": 100}]}],
        },
    }
