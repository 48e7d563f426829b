"""Gateway API: the weights of the HTTPRoute's backendRefs to the v1 and v2 Services."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

from codemode_operator.adapters.kube import Kube

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"


class RouteError(Exception):
    """The HTTPRoute cannot carry the split (missing, or no rule routes to v1)."""


def _is_service(ref: Mapping[str, Any], name: str) -> bool:
    return (
        ref.get("name") == name and ref.get("kind", "Service") == "Service" and not ref.get("group")
    )


def route_weight(route: Mapping[str, Any], stable: str, canary: str) -> int | None:
    """v2's % of the rules that route to v1 or v2; None if they disagree or route to neither."""
    weights: set[int] = set()
    for rule in route.get("spec", {}).get("rules", []):
        refs = rule.get("backendRefs", [])
        v1 = sum(r.get("weight", 1) for r in refs if _is_service(r, stable))
        v2 = sum(r.get("weight", 1) for r in refs if _is_service(r, canary))
        if v1 + v2:
            weights.add(round(100 * v2 / (v1 + v2)))
    return weights.pop() if len(weights) == 1 else None


def with_weight(route: Mapping[str, Any], stable: str, canary: str, weight: int) -> dict[str, Any]:
    """The route with every v1/v2 rule split `100-weight`/`weight` (v2's ref added if missing)."""
    updated = copy.deepcopy(dict(route))
    touched = False
    for rule in updated.get("spec", {}).get("rules", []):
        refs = rule.setdefault("backendRefs", [])
        v1 = [r for r in refs if _is_service(r, stable)]
        if not v1 and not any(_is_service(r, canary) for r in refs):
            continue
        if not any(_is_service(r, canary) for r in refs):
            refs.append({**{k: v for k, v in v1[0].items() if k != "weight"}, "name": canary})
        for ref in refs:
            if _is_service(ref, stable):
                ref["weight"] = 100 - weight
            elif _is_service(ref, canary):
                ref["weight"] = weight
        touched = True
    if not touched:
        name = route.get("metadata", {}).get("name")
        raise RouteError(f"HTTPRoute {name} has no rule with a backendRef to Service {stable}")
    return updated


class GatewayAPIRouter:
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        route: str,
        stable: str,
        canary: str,
        observed: Mapping[str, Any] | None,
    ) -> None:
        self.kube, self.namespace, self.route = kube, namespace, route
        self.stable, self.canary = stable, canary
        self.observed = observed  # the route as kopf's index last saw it

    def read_weight(self, expected: int) -> int | None:
        if self.observed is None:
            return None
        return route_weight(self.observed, self.stable, self.canary)

    async def set_weight(self, weight: int) -> None:
        custom = self.kube.custom
        # Read-modify-write with the resourceVersion: a concurrent edit makes this tick fail
        # (409) and the next one retry, instead of silently overwriting someone's change.
        route = await asyncio.to_thread(
            custom.get_namespaced_custom_object, GROUP, VERSION, self.namespace, PLURAL, self.route
        )
        body = with_weight(route, self.stable, self.canary, weight)
        await asyncio.to_thread(
            custom.replace_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURAL,
            self.route,
            body,
        )
