"""The local Gateway (Traefik): start time, route-change delay, and latency through it.

    .venv/bin/python -m benchmarks.bench_gateway [--flips 40]

A fresh control plane, Traefik with its Gateway, and two whoami pods in a pod network behind
Services `mcp-v1`/`mcp-v2`. Measures: Traefik's start until the Gateway is Programmed; for each
flip of the HTTPRoute between 100% v1 and 100% v2, the time from the API server acknowledging the
write to the first request that reaches the new backend (requests sent back to back); and the
latency of a request through the Gateway and straight to the pod.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from devcluster import cluster, gateway, gateway_api, pod_network
from devcluster.split_rig import Rig, refs, start_rig

LATENCY_REQUESTS = 500


def quantiles(seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms (n={len(ms)})"


def latencies(url: str, n: int) -> list[float]:
    seen = []
    with httpx.Client(base_url=url, timeout=5) as client:
        for _ in range(n):
            started = time.perf_counter()
            client.get("/").raise_for_status()
            seen.append(time.perf_counter() - started)
    return seen


def flips(rig: Rig, count: int) -> list[float]:
    delays = []
    for i in range(count):
        target, weights = ("mcp-v2", (0, 100)) if i % 2 == 0 else ("mcp-v1", (100, 0))
        written = rig.write_rules([{"backendRefs": refs(mcp_v1=weights[0], mcp_v2=weights[1])}])
        delays.append(rig.first_answer_from(target, 15) - written)
        time.sleep(0.5)  # apart, so each change is its own provider event
    return delays


def run(workdir: Path, count: int) -> None:
    cp = cluster.start(workdir / "cluster")
    try:
        gateway_api.install(cp)
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        cp.kubectl("create", "namespace", namespace)
        started = time.monotonic()
        with gateway.start(cp, workdir / "gateway", namespace) as gw:
            up = time.monotonic() - started
            with pod_network.running(workdir / "pods") as network:
                rig = start_rig(cp, namespace, gw, network, ["mcp-v1", "mcp-v2"])
                rig.apply_route([{"backendRefs": refs(mcp_v1=100, mcp_v2=0)}])
                rig.wait_applied([{"mcp-v1": 100, "mcp-v2": 0}])
                through = latencies(gw.url, LATENCY_REQUESTS)
                direct = latencies(rig.pods["mcp-v1"].url(8000), LATENCY_REQUESTS)
                delays = flips(rig, count)
    finally:
        cp.stop()
    print(f"Traefik start -> Gateway Programmed: {up:.1f} s")
    print(f"route write acknowledged -> first request on the new backend: {quantiles(delays)}")
    print(f"request through the Gateway: {quantiles(through)}")
    print(f"request straight to the pod: {quantiles(direct)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=40)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as workdir:
        run(Path(workdir), args.flips)


if __name__ == "__main__":
    main()
