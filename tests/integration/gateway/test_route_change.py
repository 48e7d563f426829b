"""The Gateway's traffic follows an HTTPRoute change: all of it, soon after the write.

The time from the API server's acknowledgement of the write to the first request on the new
backend is printed here; its distribution is measured by `benchmarks.bench_gateway`
(docs/benchmarks.md). The assertions are on correctness, with a bounded wait.
"""

from __future__ import annotations

from collections import Counter

from devcluster.split_rig import Rig, refs

MOVE_TIMEOUT = 15.0  # far above the measured delay: a bound on the wait, not a speed goal


def test_all_traffic_moves_to_the_backend_the_new_route_names(rig: Rig) -> None:
    rig.apply_route([{"backendRefs": refs(mcp_v1=100, mcp_v2=0)}])
    rig.wait_applied([{"mcp-v1": 100, "mcp-v2": 0}])
    assert rig.answers(20) == Counter({"mcp-v1": 20})
    delays = []
    for target, weights in [("mcp-v2", (0, 100)), ("mcp-v1", (100, 0)), ("mcp-v2", (0, 100))]:
        written = rig.write_rules([{"backendRefs": refs(mcp_v1=weights[0], mcp_v2=weights[1])}])
        delays.append(rig.first_answer_from(target, MOVE_TIMEOUT) - written)
        # From the first answer of the new backend on, every request goes there.
        assert rig.answers(50) == Counter({target: 50})
    print(f"route change -> traffic moved: {', '.join(f'{d * 1000:.0f} ms' for d in delays)}")
