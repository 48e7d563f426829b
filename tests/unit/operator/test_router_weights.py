"""The routers' pure parts: the weight an HTTPRoute carries, the route at a weight, the replicas;
and how each router verifies a desired weight on the copy it watches."""

from typing import Any

import pytest
from codemode_operator.adapters.routers.gateway_api import (
    GatewayAPIRouter,
    RouteError,
    realises,
    route_weight,
    with_weight,
)
from codemode_operator.adapters.routers.replicas import ReplicasRouter, split
from codemode_operator.rollout import DeploymentState, WeightReading

HEALTH = {
    "matches": [{"path": {"type": "Exact", "value": "/healthz"}}],
    "backendRefs": [{"name": "other", "port": 80}],
}


def _route(*refs: dict[str, Any], rules: int = 1) -> dict[str, Any]:
    split_rules = [{"backendRefs": [dict(r) for r in refs]} for _ in range(rules)]
    return {"metadata": {"name": "mcp"}, "spec": {"rules": [HEALTH, *split_rules]}}


def _ref(name: str, weight: int | None = None, **extra: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": name, "port": 80, **extra}
    if weight is not None:
        ref["weight"] = weight
    return ref


@pytest.mark.parametrize(
    ("refs", "weight"),
    [
        ((_ref("mcp-v1", 95), _ref("mcp-v2", 5)), 5),
        ((_ref("mcp-v1", 100),), 0),
        ((_ref("mcp-v2", 3),), 100),
        ((_ref("mcp-v1"), _ref("mcp-v2")), 50),  # no weight: Gateway API's default, 1
        ((_ref("mcp-v1", 2), _ref("mcp-v2", 1)), 33),
        ((_ref("mcp-v1", 50), _ref("mcp-v2", 50, kind="Pod")), 0),  # not the Service
        ((_ref("mcp-v1", 50), _ref("mcp-v2", 50, group="x.io")), 0),
        ((_ref("mcp-v1", 0), _ref("mcp-v2", 0)), None),  # routes nothing: unknown
        ((_ref("other", 1),), None),  # no rule to v1 or v2
    ],
)
def test_the_route_weight_is_v2s_percent_of_the_split_rule(
    refs: tuple[dict[str, Any], ...], weight: int | None
) -> None:
    assert route_weight(_route(*refs), "mcp-v1", "mcp-v2") == weight


def test_split_rules_that_disagree_read_as_unknown_and_agreeing_ones_as_their_weight() -> None:
    agreeing = _route(_ref("mcp-v1", 75), _ref("mcp-v2", 25), rules=2)
    assert route_weight(agreeing, "mcp-v1", "mcp-v2") == 25
    agreeing["spec"]["rules"][2]["backendRefs"][1]["weight"] = 30
    assert route_weight(agreeing, "mcp-v1", "mcp-v2") is None


def test_with_weight_adds_v2s_ref_beside_v1s_and_leaves_other_rules_and_the_input_alone() -> None:
    route = _route(_ref("mcp-v1", 100, namespace="mcp"))
    updated = with_weight(route, "mcp-v1", "mcp-v2", 25)
    assert updated["spec"]["rules"] == [
        HEALTH,
        {
            "backendRefs": [
                {"name": "mcp-v1", "port": 80, "namespace": "mcp", "weight": 75},
                {"name": "mcp-v2", "port": 80, "namespace": "mcp", "weight": 25},
            ]
        },
    ]
    assert route == _route(_ref("mcp-v1", 100, namespace="mcp"))


def test_with_weight_reads_back_as_written_at_every_weight_and_on_every_split_rule() -> None:
    route = _route(_ref("mcp-v1", 100), rules=2)
    for weight in range(101):
        updated = with_weight(route, "mcp-v1", "mcp-v2", weight)
        assert route_weight(updated, "mcp-v1", "mcp-v2") == weight
        assert [r["backendRefs"][-1]["weight"] for r in updated["spec"]["rules"][1:]] == [
            weight
        ] * 2


def test_with_weight_refuses_a_route_without_a_rule_to_v1() -> None:
    with pytest.raises(RouteError, match="HTTPRoute mcp has no rule with a backendRef to Service"):
        with_weight(_route(_ref("other", 1)), "mcp-v1", "mcp-v2", 5)


@pytest.mark.parametrize(
    ("total", "weight", "replicas"),
    [
        (4, 0, (4, 0)),
        (4, 100, (0, 4)),
        (4, 5, (3, 1)),  # any traffic to v2 needs one pod
        (4, 25, (3, 1)),
        (4, 50, (2, 2)),
        (10, 25, (8, 2)),  # round half to even: 2.5 -> 2
        (10, 99, (1, 9)),  # v1 keeps one pod until 100
        (1, 0, (1, 0)),
        (1, 100, (0, 1)),
    ],
)
def test_split_known_answers(total: int, weight: int, replicas: tuple[int, int]) -> None:
    assert split(total, weight) == replicas


def test_split_keeps_the_total_and_grows_v2_with_the_weight() -> None:
    for total in range(1, 30):
        canaries = [split(total, weight)[1] for weight in range(101)]
        assert all(sum(split(total, w)) == total for w in range(101))
        assert canaries == sorted(canaries)
        if total > 1:
            assert all(0 < c < total for c in canaries[1:100])


def _deployment(replicas: int) -> DeploymentState:
    return DeploymentState(desired_replicas=replicas)


def test_the_replicas_router_verifies_the_split_and_shows_the_real_ratio() -> None:
    def verify(v1: int, v2: int, desired: int) -> WeightReading | None:
        observed = (_deployment(v1), _deployment(v2))
        router = ReplicasRouter(None, "ns", "mcp-v1", "mcp-v2", 4, observed)  # type: ignore[arg-type]
        return router.verify_weight(desired)

    # The split for 5% is one pod of 4: verified, and honest about the share it gives.
    assert verify(3, 1, desired=5) == WeightReading(desired=5, verified=True, shown=25)
    assert verify(3, 1, desired=50) == WeightReading(desired=50, verified=False, shown=25)
    assert verify(4, 0, desired=0) == WeightReading(desired=0, verified=True, shown=0)
    assert verify(0, 0, desired=5) is None


def test_the_replicas_router_knows_nothing_without_both_deployments() -> None:
    router = ReplicasRouter(None, "ns", "mcp-v1", "mcp-v2", 4, (_deployment(4), None))  # type: ignore[arg-type]
    assert router.verify_weight(0) is None


def _gateway(route: dict[str, Any] | None) -> GatewayAPIRouter:
    return GatewayAPIRouter(None, "ns", "mcp", "mcp-v1", "mcp-v2", route)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("refs", "desired", "reading"),
    [
        ((_ref("mcp-v1", 75), _ref("mcp-v2", 25)), 25, (True, 25)),
        ((_ref("mcp-v1", 3), _ref("mcp-v2", 1)), 25, (True, 25)),  # the same ratio
        ((_ref("mcp-v1", 75), _ref("mcp-v2", 25)), 5, (False, 25)),
        ((_ref("mcp-v1", 199), _ref("mcp-v2", 1)), 0, (False, 0)),  # 0.5% reads 0, is not 0
        ((_ref("mcp-v1", 100),), 0, (True, 0)),
    ],
)
def test_the_gateway_router_verifies_the_exact_share_of_every_split_rule(
    refs: tuple[dict[str, Any], ...], desired: int, reading: tuple[bool, int]
) -> None:
    verified, shown = reading
    expected = WeightReading(desired=desired, verified=verified, shown=shown)
    assert _gateway(_route(*refs, rules=2)).verify_weight(desired) == expected


def test_the_gateway_router_knows_nothing_of_a_missing_or_disagreeing_route() -> None:
    assert _gateway(None).verify_weight(0) is None
    route = _route(_ref("mcp-v1", 75), _ref("mcp-v2", 25), rules=2)
    route["spec"]["rules"][2]["backendRefs"][1]["weight"] = 30
    assert _gateway(route).verify_weight(25) is None
    assert not realises(route, "mcp-v1", "mcp-v2", 25)
