"""What Traefik does with HTTPRoute header matches (the session pinning of issue 12 needs them).

Three backends make each rule's effect visible: `fallback` is where a request that matches no
header rule goes. Each case sends several requests and all of them must land on one backend.
"""

from __future__ import annotations

from collections import Counter

import pytest

from devcluster.cluster import ControlPlane
from devcluster.gateway import Gateway
from devcluster.pod_network import PodNetwork
from devcluster.split_rig import Rig, refs, start_rig

SESSION = "Mcp-Session-Id"
PIN_COOKIE = r"(^|;\s*)codemode-pin=v2(;|$)"  # RE2 (Go), so no lookaround
RULES = [
    # 0: one exact header match
    {"matches": [{"headers": [{"name": SESSION, "value": "s-v2"}]}], "backendRefs": refs(mcp_v2=1)},
    # 1: one regular-expression header match, anchored
    {
        "matches": [
            {"headers": [{"type": "RegularExpression", "name": SESSION, "value": "^s-v1-"}]}
        ],
        "backendRefs": refs(mcp_v1=1),
    },
    # 2: a cookie, by a regular expression over the whole Cookie header
    {
        "matches": [
            {"headers": [{"type": "RegularExpression", "name": "Cookie", "value": PIN_COOKIE}]}
        ],
        "backendRefs": refs(mcp_v2=1),
    },
    # 3: two header matches, listed after rule 0 that it overlaps
    {
        "matches": [
            {"headers": [{"name": SESSION, "value": "s-v2"}, {"name": "X-Canary", "value": "off"}]}
        ],
        "backendRefs": refs(mcp_v1=1),
    },
    # 4: a regular expression without anchors
    {
        "matches": [
            {"headers": [{"type": "RegularExpression", "name": "X-Tenant", "value": "blue"}]}
        ],
        "backendRefs": refs(mcp_v2=1),
    },
    # 5: no match: the weighted default rule
    {"backendRefs": refs(fallback=1)},
]

CASES = {
    "no header: the default rule": ({}, "fallback"),
    "exact match": ({SESSION: "s-v2"}, "mcp-v2"),
    "header names are case-insensitive": ({SESSION.lower(): "s-v2"}, "mcp-v2"),
    "exact is exact: a longer value does not match": ({SESSION: "s-v2x"}, "fallback"),
    "exact is case-sensitive in the value": ({SESSION: "S-V2"}, "fallback"),
    "regular expression": ({SESSION: "s-v1-0123abcd"}, "mcp-v1"),
    "an anchored expression does not match mid-value": ({SESSION: "xs-v1-0123"}, "fallback"),
    "a cookie among others": ({"Cookie": "a=1; codemode-pin=v2; b=2"}, "mcp-v2"),
    "a cookie of another name does not match": ({"Cookie": "codemode-pin=v21"}, "fallback"),
    "an expression without anchors matches anywhere in the value": (
        {"X-Tenant": "sky-blue-7"},
        "mcp-v2",
    ),
    "rules tie on one header match: the first listed wins": (
        {SESSION: "s-v1-7", "Cookie": "codemode-pin=v2"},
        "mcp-v1",
    ),
    "more header matches win over the rule listed first": (
        {SESSION: "s-v2", "X-Canary": "off"},
        "mcp-v1",
    ),
}


@pytest.fixture
def three_backends(
    control_plane: ControlPlane, namespace: str, local_gateway: Gateway, pods: PodNetwork
) -> Rig:
    rig = start_rig(control_plane, namespace, local_gateway, pods, ["mcp-v1", "mcp-v2", "fallback"])
    rig.apply_route(RULES)
    v1, v2 = {"mcp-v1": 1}, {"mcp-v2": 1}
    rig.wait_applied([v2, v1, v2, v1, v2, {"fallback": 1}])
    return rig


def test_header_matches_route_as_gateway_api_says(three_backends: Rig) -> None:
    # One Gateway for all cases (Traefik and five pods per case would cost ~10 s each).
    landed = {case: three_backends.answers(10, headers) for case, (headers, _) in CASES.items()}
    expected = {case: Counter({backend: 10}) for case, (_, backend) in CASES.items()}
    assert landed == expected
