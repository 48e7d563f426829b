from __future__ import annotations

from demo.split import v2_share


def test_v2_share_of_the_weights_the_gateway_runs() -> None:
    assert v2_share({"mcp-v1": 75, "mcp-v2": 25}, "mcp-v2") == 25
    assert v2_share({"mcp-v1": 100}, "mcp-v2") == 0
    assert v2_share({}, "mcp-v2") == 0
