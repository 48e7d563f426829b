"""The gatewayAPI router's writes on a real API server: a patch guarded by the watched copy's
resourceVersion, and a fresh read-modify-write when that copy is stale, so no edit is lost."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import kubernetes
from codemode_operator.adapters.kube import Kube
from codemode_operator.adapters.routers.gateway_api import (
    GatewayAPIRouter,
    route_pins,
    route_weight,
)

from devcluster.cluster import ControlPlane
from devcluster.workload import http_route
from tests.integration.operator.conftest import apply, get

HEALTH_RULE = {
    "matches": [{"path": {"type": "Exact", "value": "/healthz"}}],
    "backendRefs": [{"name": "health", "port": 80}],
}


def _watched(route: dict[str, Any]) -> dict[str, Any]:
    """What the handlers' `httproutes` index keeps of a route."""
    meta = route["metadata"]
    return {
        "metadata": {"name": meta["name"], "resourceVersion": meta["resourceVersion"]},
        "spec": copy.deepcopy(route["spec"]),
    }


def _router(cp: ControlPlane, namespace: str, observed: dict[str, Any]) -> GatewayAPIRouter:
    kube = Kube(kubernetes.config.new_client_from_config(str(cp.kubeconfig)))
    return GatewayAPIRouter(kube, namespace, "mcp", "mcp-v1", "mcp-v2", observed)


def test_weight_then_pins_in_one_tick_from_the_watched_copy(
    control_plane: ControlPlane, gateway_crds: None, namespace: str
) -> None:
    apply(control_plane, namespace, http_route())
    router = _router(
        control_plane, namespace, _watched(get(control_plane, namespace, "httproute", "mcp"))
    )

    async def tick() -> None:
        await router.set_weight(25)
        await router.set_pins(("v1", "v2"))  # starts from the first write's answer

    asyncio.run(tick())
    stored = get(control_plane, namespace, "httproute", "mcp")
    assert route_weight(stored, "mcp-v1", "mcp-v2") == 25
    assert route_pins(stored, "mcp-v1", "mcp-v2") == ("v1", "v2")
    assert router.observed is not None
    assert router.observed["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]


def test_a_stale_watched_copy_never_drops_an_edit_made_since(
    control_plane: ControlPlane, gateway_crds: None, namespace: str
) -> None:
    apply(control_plane, namespace, http_route())
    stale = _watched(get(control_plane, namespace, "httproute", "mcp"))
    edited = http_route()
    edited["spec"]["rules"].insert(0, HEALTH_RULE)  # someone's edit the watch has not shown yet
    apply(control_plane, namespace, edited)
    asyncio.run(_router(control_plane, namespace, stale).set_weight(50))
    stored = get(control_plane, namespace, "httproute", "mcp")
    assert route_weight(stored, "mcp-v1", "mcp-v2") == 50
    assert [r["backendRefs"][0]["name"] for r in stored["spec"]["rules"]] == ["health", "mcp-v1"]
