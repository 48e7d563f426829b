"""The MCP workload as the local cluster sees it: Deployments whose pods kwok fakes, their
Services and an HTTPRoute with all traffic on v1 (where every rollout starts), and the
CodeModeRollout that takes it from v1 to v2. Shared by the operator's integration tests and
bench_operator; the demo, which runs the charts on a real node, builds its rollout here too."""

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


def gateway_workloads(canary_pool: str | None = None) -> list[dict[str, Any]]:
    """v1 and v2 Deployments, their Services and an HTTPRoute sending all traffic to v1."""
    return [
        deployment("mcp-v1", "v1"),
        deployment("mcp-v2", "v2", pool=canary_pool),
        service("mcp-v1", "v1"),
        service("mcp-v2", "v2"),
        http_route(),
    ]


def timed_steps(dwell: str, weights: tuple[int, ...] = (5, 25, 50)) -> list[dict[str, Any]]:
    """Steps of `dwell` each at `weights`, then 100%: the seed's plan at a test's time scale."""
    return [{"weight": w, "pause": {"duration": dwell}} for w in weights] + [{"weight": 100}]


def rollout(
    name: str = "mcp",
    router: str = "gatewayAPI",
    steps: list[dict[str, Any]] | None = None,
    stable: str = "mcp-v1",
    canary: str = "mcp-v2",
    route: str = "mcp",
    **spec: Any,
) -> dict[str, Any]:
    """A CodeModeRollout of Deployment `stable` to `canary`: each behind its own Service of
    the same name through HTTPRoute `route`, or (`replicas`) both behind one Service `mcp`."""
    routers = {
        "gatewayAPI": {"type": "gatewayAPI", "gatewayAPI": {"httpRoute": route}},
        "replicas": {"type": "replicas", "replicas": {"total": 4}},
    }
    routed = router == "gatewayAPI"
    body = {
        "stable": {"deployment": stable, "service": stable if routed else "mcp"},
        "canary": {"deployment": canary, "service": canary if routed else "mcp"},
        "router": routers[router],
        "steps": steps or timed_steps("2s"),
        **spec,
    }
    return {
        "apiVersion": "codemode.io/v1alpha1",
        "kind": "CodeModeRollout",
        "metadata": {"name": name},
        "spec": body,
    }
