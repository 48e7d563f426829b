"""Traefik applies the operator's HTTPRoute weights: the split measured at the Gateway follows."""

from __future__ import annotations

from collections import Counter

from codemode_operator.adapters.routers.gateway_api import with_weight

from devcluster.processes import wait_until
from devcluster.split_rig import Rig, refs, route
from tests.binomial import interval

REQUESTS = 1000
ALPHA = 1e-6  # the chance that a correct split fails the bound below


def _served_since(rig: Rig, before: Counter[str], total: int) -> Counter[str]:
    """Traefik's own per-Service request counts (its access log) since `before`, once all
    `total` requests are logged."""
    delta: Counter[str] = Counter()

    def counted() -> bool:
        delta.clear()
        delta.update(rig.gateway.served(rig.namespace))
        delta.subtract(before)
        return sum(delta.values()) >= total

    wait_until(f"Traefik's access log counting {total} requests", counted, 10)
    return +delta


def test_the_share_of_v2_follows_each_weight_the_operator_writes(rig: Rig) -> None:
    body = route(rig.gateway, [{"backendRefs": refs(mcp_v1=100)}])
    for weight in (0, 5, 25, 50, 100):
        # The operator's own route writer, as its gatewayAPI router uses it.
        body = with_weight(body, "mcp-v1", "mcp-v2", weight)
        rig.apply(body)
        rig.wait_applied([{"mcp-v1": 100 - weight, "mcp-v2": weight}])
        before = rig.gateway.served(rig.namespace)
        answered = rig.answers(REQUESTS)
        served = _served_since(rig, before, REQUESTS)
        # The Gateway's count per backend is exactly which pod answered, request by request.
        assert served == answered, (weight, served, answered)
        lo, hi = interval(REQUESTS, weight / 100, ALPHA)
        assert lo <= served["mcp-v2"] <= hi, (weight, served, (lo, hi))
        assert served["mcp-v1"] + served["mcp-v2"] == REQUESTS
