"""The HTTPRoute the gatewayAPI router writes: the weighted rule, and the pin rules before it."""

import re

import pytest
from codemode_operator.adapters.routers.gateway_api import (
    RouteError,
    route_pins,
    route_weight,
    with_pins,
    with_weight,
)

from mcp_server.sessions import COOKIE, Pins
from mcp_server.signing import Signer

FILTER = {
    "type": "RequestHeaderModifier",
    "requestHeaderModifier": {"set": [{"name": "x", "value": "1"}]},
}


def _route(**rule: object) -> dict:
    split = {"backendRefs": [{"name": "mcp-v1", "port": 80, "weight": 100}], **rule}
    health = {
        "matches": [{"path": {"type": "Exact", "value": "/healthz"}}],
        "backendRefs": [{"name": "other", "port": 80}],
    }
    return {"metadata": {"name": "mcp"}, "spec": {"rules": [health, split]}}


def _traffic(route: dict, weight: int, pins: tuple[str, ...]) -> dict:
    return with_pins(with_weight(route, "mcp-v1", "mcp-v2", weight), "mcp-v1", "mcp-v2", pins)


def test_pin_rules_are_derived_from_the_split_rule_and_read_back() -> None:
    match = {
        "path": {"type": "PathPrefix", "value": "/mcp"},
        "headers": [{"name": "X-Team", "value": "a"}],
    }
    route = _traffic(_route(matches=[match], filters=[FILTER]), 25, ("v1", "v2"))
    rules = route["spec"]["rules"]
    assert [r.get("name") for r in rules] == [None, "codemode-pin-v1", "codemode-pin-v2", None]
    v2 = rules[2]
    assert v2["backendRefs"] == [{"name": "mcp-v2", "port": 80, "weight": 1}]
    assert v2["filters"] == [FILTER]
    assert [m["path"] for m in v2["matches"]] == [match["path"]] * 2
    assert [[h["name"] for h in m["headers"]] for m in v2["matches"]] == [
        ["X-Team", "Mcp-Session-Id"],
        ["X-Team", "Cookie"],
    ]  # one header match more than the split rule: Gateway API's precedence picks the pin
    assert route_weight(route, "mcp-v1", "mcp-v2") == 25  # the split rule's, not a pin's
    assert route_pins(route, "mcp-v1", "mcp-v2") == ("v1", "v2")


def test_pins_are_replaced_not_added_and_a_hand_edit_reads_as_unknown() -> None:
    route = _traffic(_route(), 5, ("v1", "v2"))
    rolled_back = _traffic(route, 0, ("v1",))
    assert [r.get("name") for r in rolled_back["spec"]["rules"]] == [None, "codemode-pin-v1", None]
    assert route_pins(rolled_back, "mcp-v1", "mcp-v2") == ("v1",)
    assert route_pins(_route(), "mcp-v1", "mcp-v2") == ()
    edited = _traffic(route, 5, ("v1", "v2"))
    edited["spec"]["rules"][1]["backendRefs"][0]["name"] = "mcp-v2"
    assert route_pins(edited, "mcp-v1", "mcp-v2") is None  # rewritten on the next tick


def test_the_pin_matches_accept_the_servers_pins_in_full_match_and_search_dialects() -> None:
    route = _traffic(_route(), 50, ("v1", "v2"))
    signer = Signer("k")
    for rule, version, other in [(1, "v1", "v2"), (2, "v2", "v1")]:
        session, cookie = (
            m["headers"][-1]["value"] for m in route["spec"]["rules"][rule]["matches"]
        )
        own, foreign = Pins(signer, version), Pins(signer, other)
        cookies = f"a=1; {COOKIE}={own.mint('cookie')}; b=2"
        for match in (re.fullmatch, re.search):
            assert match(session, own.mint("session"))
            assert not match(session, foreign.mint("session"))
            assert match(cookie, cookies) and match(cookie, f"{COOKIE}={own.mint('cookie')}")
            assert not match(cookie, f"x{COOKIE}={own.mint('cookie')}")
            assert not match(cookie, f"{COOKIE}={foreign.mint('cookie')}")


def test_a_route_too_big_to_pin_is_refused_with_the_limits() -> None:
    matches = [{"path": {"type": "PathPrefix", "value": f"/p{i}"}} for i in range(40)]
    with pytest.raises(RouteError, match="HTTPRoute limits"):
        _traffic(_route(matches=matches), 5, ("v1", "v2"))
