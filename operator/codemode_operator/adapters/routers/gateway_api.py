"""Gateway API: the HTTPRoute's weighted rule for new conversations, and one rule per pin.

The user's rule that routes to the v1/v2 Services (the split rule) carries the weights: it
places requests without a pin, i.e. new conversations. Ahead of it the router keeps one rule per
pinned version (rollout/pins.py), named `codemode-pin-<version>` and derived from the split
rule: each of its matches (path, method, the user's own headers) once with a header match on
the version's `Mcp-Session-Id` prefix and once on its `codemode-version` cookie, to that
version's Service alone, with the split rule's filters and timeouts. A pin rule has one header
match more than the split rule, so Gateway API's precedence picks it for a pinned request. Only
plain Gateway API: header matches (RegularExpression, anchored so that full-match and search
dialects agree), weights, rule names.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

import kubernetes

from codemode_operator.adapters.kube import Kube
from codemode_operator.rollout import WeightReading
from codemode_operator.rollout.pins import CANARY_VERSION, STABLE_VERSION

GROUP, VERSION, PLURAL = "gateway.networking.k8s.io", "v1", "httproutes"
PIN_RULE_PREFIX = "codemode-pin-"
SESSION_HEADER, COOKIE_HEADER, COOKIE = "Mcp-Session-Id", "Cookie", "codemode-version"
MAX_RULES = 16  # the HTTPRoute CRD's own limits
MAX_MATCHES = 128
_PINNED_HEADERS = {SESSION_HEADER.lower(), COOKIE_HEADER.lower()}
_DEFAULT_MATCH = {"path": {"type": "PathPrefix", "value": "/"}}


class RouteError(Exception):
    """The HTTPRoute cannot carry the split (missing, or no rule routes to v1)."""


def _is_service(ref: Mapping[str, Any], name: str) -> bool:
    return (
        ref.get("name") == name and ref.get("kind", "Service") == "Service" and not ref.get("group")
    )


def is_pin_rule(rule: Mapping[str, Any]) -> bool:
    return str(rule.get("name", "")).startswith(PIN_RULE_PREFIX)


def _routes_to(rule: Mapping[str, Any], *services: str) -> bool:
    return any(_is_service(r, s) for r in rule.get("backendRefs", []) for s in services)


def _split_rules(route: Mapping[str, Any], stable: str, canary: str) -> list[Mapping[str, Any]]:
    rules = route.get("spec", {}).get("rules", [])
    return [r for r in rules if not is_pin_rule(r) and _routes_to(r, stable, canary)]


def _shares(route: Mapping[str, Any], stable: str, canary: str) -> list[tuple[int, int]]:
    """(v1, v2) backend weights of each split rule that routes anything."""
    shares = []
    for rule in _split_rules(route, stable, canary):
        refs = rule.get("backendRefs", [])
        v1 = sum(r.get("weight", 1) for r in refs if _is_service(r, stable))
        v2 = sum(r.get("weight", 1) for r in refs if _is_service(r, canary))
        if v1 + v2:
            shares.append((v1, v2))
    return shares


def route_weight(route: Mapping[str, Any], stable: str, canary: str) -> int | None:
    """v2's % in the split rules, rounded; None if they disagree or route to neither."""
    weights = {round(100 * v2 / (v1 + v2)) for v1, v2 in _shares(route, stable, canary)}
    return weights.pop() if len(weights) == 1 else None


def realises(route: Mapping[str, Any], stable: str, canary: str, weight: int) -> bool:
    """Whether every split rule sends exactly `weight`% to v2 (no rounding: 1/199 is not 0%)."""
    shares = _shares(route, stable, canary)
    return bool(shares) and all(100 * v2 == weight * (v1 + v2) for v1, v2 in shares)


def _pin_headers(version: str) -> list[dict[str, str]]:
    # Anchored: a full-match dialect (Envoy) and a search one (Traefik, Go) agree.
    return [
        {"type": "RegularExpression", "name": SESSION_HEADER, "value": f"^{version}\\..*$"},
        {
            "type": "RegularExpression",
            "name": COOKIE_HEADER,
            "value": f"^(.*; *)?{COOKIE}={version}\\..*$",
        },
    ]


def pin_rule(split: Mapping[str, Any], version: str, service: str, name: str) -> dict[str, Any]:
    """The rule keeping `version`'s conversations on `service`, derived from a split rule."""
    ref = next(r for r in split.get("backendRefs", []) if _is_service(r, service))
    pinned = []
    for match in split.get("matches") or [_DEFAULT_MATCH]:
        own = [
            h for h in match.get("headers", []) if h.get("name", "").lower() not in _PINNED_HEADERS
        ]
        for header in _pin_headers(version):
            pinned.append({**copy.deepcopy(dict(match)), "headers": [*own, header]})
    rule: dict[str, Any] = {"name": name, "matches": pinned}
    for key in ("filters", "timeouts"):
        if key in split:
            rule[key] = copy.deepcopy(split[key])
    # weight 1, the CRD's default, written out: the stored rule reads back equal to this one.
    rule["backendRefs"] = [{**ref, "weight": 1}]
    return rule


def _pin_name(version: str, index: int) -> str:
    return f"{PIN_RULE_PREFIX}{version}" + (f"-{index + 1}" if index else "")


def _with_pins(
    rules: list[dict[str, Any]], stable: str, canary: str, pins: tuple[str, ...]
) -> list[dict[str, Any]]:
    services = {STABLE_VERSION: stable, CANARY_VERSION: canary}
    updated: list[dict[str, Any]] = []
    index = 0
    for rule in (r for r in rules if not is_pin_rule(r)):
        if _routes_to(rule, stable, canary):
            for version in pins:
                if _routes_to(rule, services[version]):
                    name = _pin_name(version, index)
                    updated.append(pin_rule(rule, version, services[version], name))
            index += 1
        updated.append(rule)
    return updated


def route_pins(route: Mapping[str, Any], stable: str, canary: str) -> tuple[str, ...] | None:
    """The pinned versions, if the route's pin rules are exactly what they would be; else None."""
    rules = route.get("spec", {}).get("rules", [])
    found = tuple(
        dict.fromkeys(
            str(r["name"])[len(PIN_RULE_PREFIX) :].split("-")[0] for r in rules if is_pin_rule(r)
        )
    )
    return found if _with_pins(copy.deepcopy(rules), stable, canary, found) == rules else None


def with_weight(route: Mapping[str, Any], stable: str, canary: str, weight: int) -> dict[str, Any]:
    """The route with every split rule at `100-weight`/`weight` (v2's ref added if missing)."""
    updated = copy.deepcopy(dict(route))
    touched = False
    for rule in updated.get("spec", {}).get("rules", []):
        refs = rule.setdefault("backendRefs", [])
        v1 = [r for r in refs if _is_service(r, stable)]
        if is_pin_rule(rule) or (not v1 and not any(_is_service(r, canary) for r in refs)):
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


def with_pins(
    route: Mapping[str, Any], stable: str, canary: str, pins: tuple[str, ...]
) -> dict[str, Any]:
    """The route with exactly the pin rules of `pins` (a version's, where it has a backendRef)."""
    updated = copy.deepcopy(dict(route))
    spec = updated.setdefault("spec", {})
    spec["rules"] = _with_pins(spec.get("rules", []), stable, canary, pins)
    rules, name = spec["rules"], route.get("metadata", {}).get("name")
    matches = sum(len(r.get("matches") or [_DEFAULT_MATCH]) for r in rules)
    if len(rules) > MAX_RULES or matches > MAX_MATCHES:
        raise RouteError(
            f"HTTPRoute {name}: pinning {', '.join(pins)} needs {len(rules)} rules and {matches} "
            f"matches, over the HTTPRoute limits ({MAX_RULES} rules, {MAX_MATCHES} matches): "
            "route v1/v2 with fewer rules or matches"
        )
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

    def verify_weight(self, desired: int) -> WeightReading | None:
        route = self.observed
        shown = None if route is None else route_weight(route, self.stable, self.canary)
        if route is None or shown is None:
            return None
        verified = realises(route, self.stable, self.canary, desired)
        return WeightReading(desired=desired, verified=verified, shown=shown)

    def read_pins(self) -> tuple[str, ...] | None:
        if self.observed is None:
            return None
        return route_pins(self.observed, self.stable, self.canary)

    async def _patch_observed(self, change: Any) -> Mapping[str, Any] | None:
        """One guarded merge patch of the rules, made from the watched copy: the stored route.

        The copy's resourceVersion makes the API server refuse it (409, None) if the route
        changed since: a concurrent edit, or our own last write not yet back through the watch.
        One round trip instead of a GET and a PUT, in the tick that ends a dwell."""
        version = (self.observed or {}).get("metadata", {}).get("resourceVersion")
        if self.observed is None or not version:
            return None
        rules = change(self.observed).get("spec", {}).get("rules", [])
        # A merge patch replaces a list whole: the rules are sent in full.
        patch = {"metadata": {"resourceVersion": version}, "spec": {"rules": rules}}
        try:
            stored = await asyncio.to_thread(
                self.kube.custom.patch_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.route,
                patch,
            )
        except kubernetes.client.ApiException as error:
            if error.status == 409:
                return None
            raise
        return stored if isinstance(stored, Mapping) else {}  # {}: stored, no copy of it

    async def _update(self, change: Any) -> None:
        stored = await self._patch_observed(change)
        if stored is None:
            custom = self.kube.custom
            # Read-modify-write with the resourceVersion: a concurrent edit makes this tick fail
            # (409) and the next one retry, instead of silently overwriting someone's change.
            route = await asyncio.to_thread(
                custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.route,
            )
            replaced = await asyncio.to_thread(
                custom.replace_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.route,
                change(route),
            )
            stored = replaced if isinstance(replaced, Mapping) else None
        # The answer is the route as stored: a second change in this tick (pins after the
        # weight) starts from it, not from the watched copy its resourceVersion made stale.
        self.observed = stored

    async def set_weight(self, weight: int) -> None:
        await self._update(lambda route: with_weight(route, self.stable, self.canary, weight))

    async def set_pins(self, pins: tuple[str, ...]) -> None:
        await self._update(lambda route: with_pins(route, self.stable, self.canary, pins))
