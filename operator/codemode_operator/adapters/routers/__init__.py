"""Traffic routers behind one narrow interface: verify and write the v2 weight, read and write
the pins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from codemode_operator.adapters.kube import Kube
from codemode_operator.adapters.routers.gateway_api import GatewayAPIRouter
from codemode_operator.adapters.routers.replicas import ReplicasRouter
from codemode_operator.rollout import DeploymentState, RolloutSpec, WeightReading


class Router(Protocol):
    def verify_weight(self, desired: int) -> WeightReading | None:
        """Whether the router applies exactly `desired`% to v2 now, and the weight it shows
        (None: unknown, so it will be written)."""

    async def set_weight(self, weight: int) -> None:
        """Send `weight` % of traffic to v2 and the rest to v1."""

    def read_pins(self) -> tuple[str, ...] | None:
        """The versions whose conversations the router keeps on them (None: unknown)."""

    async def set_pins(self, pins: tuple[str, ...]) -> None:
        """Keep the conversations of `pins` on their version (rollout/pins.py)."""


def for_rollout(
    spec: RolloutSpec,
    namespace: str,
    kube: Kube,
    deployments: Mapping[tuple[str, str], DeploymentState],
    routes: Mapping[tuple[str, str], Mapping[str, Any]],
) -> Router:
    """The router the rollout's spec names, on kopf's watched copies of what it reads."""
    if spec.router.type == "replicas" and spec.router.replicas is not None:
        observed = (
            deployments.get((namespace, spec.stable.deployment)),
            deployments.get((namespace, spec.canary.deployment)),
        )
        return ReplicasRouter(
            kube,
            namespace,
            spec.stable.deployment,
            spec.canary.deployment,
            spec.router.replicas.total,
            observed,
        )
    assert spec.router.gateway_api is not None  # the CRD requires it for this type
    route = spec.router.gateway_api.http_route
    return GatewayAPIRouter(
        kube,
        namespace,
        route,
        spec.stable.service,
        spec.canary.service,
        routes.get((namespace, route)),
    )
