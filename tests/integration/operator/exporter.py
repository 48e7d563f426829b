"""A real process serving the metric contract with traffic and errors the test controls.

Run as `python -m tests.integration.operator.exporter --port P`; POST /config with
`{"v1": {"rps": 100, "errorRate": 0.01, "infraRate": 0, "latency": 0.1}, "v2": {...}}` changes
the traffic (every call of a version takes `latency` seconds: scripted, not drawn);
POST /errors with `{"version": "v2", "count": 12}` serves that many failing calls at once, and
POST /calls with `{"version": "v2", "count": 5, "seconds": 0.7}` that many ok calls that long.
Prometheus scrapes it like it scrapes the MCP servers, so the operator's analysis reads
exactly the series a real rollout would.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_server.metrics import DURATION_BUCKETS

REGISTRY = CollectorRegistry()
CALLS = Counter(
    "mcp_tool_calls_total",
    "Tool calls.",
    ["version", "tool", "outcome", "error_kind"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "mcp_tool_call_duration_seconds",
    "Tool call duration.",
    ["version", "tool"],
    registry=REGISTRY,
    buckets=DURATION_BUCKETS,
)
TRAFFIC: dict[str, dict[str, float]] = {
    "v1": {"rps": 0.0, "errorRate": 0.0, "infraRate": 0.0, "latency": 0.05},
    "v2": {"rps": 0.0, "errorRate": 0.0, "infraRate": 0.0, "latency": 0.05},
}
TICK = 0.1


def _poisson(mean: float, rng: random.Random) -> int:
    # Knuth's method is fine for the small means of one 100 ms tick.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


async def _generate() -> None:
    rng = random.Random(7)
    while True:
        for version, t in TRAFFIC.items():
            for _ in range(_poisson(t["rps"] * TICK, rng)):
                draw = rng.random()
                if draw < t["infraRate"]:
                    CALLS.labels(version, "execute", "error", "infra").inc()
                elif draw < t["infraRate"] + t["errorRate"]:
                    CALLS.labels(version, "execute", "error", "user").inc()
                else:
                    CALLS.labels(version, "execute", "ok", "none").inc()
                DURATION.labels(version, "execute").observe(t["latency"])
        await asyncio.sleep(TICK)


async def metrics(_: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type="text/plain; version=0.0.4")


async def config(request: Request) -> JSONResponse:
    body: dict[str, Any] = await request.json()
    for version, values in body.items():
        if version not in TRAFFIC:
            return JSONResponse({"error": f"unknown version {version!r}"}, status_code=400)
        TRAFFIC[version].update({k: float(v) for k, v in values.items()})
    return JSONResponse(TRAFFIC)


async def errors(request: Request) -> JSONResponse:
    """Exactly `count` user errors now: evidence of a known size, for deterministic tests."""
    body: dict[str, Any] = await request.json()
    version, count = body.get("version"), body.get("count")
    if version not in TRAFFIC or not isinstance(count, int) or count < 0:
        return JSONResponse({"error": "need a known version and a count >= 0"}, status_code=400)
    CALLS.labels(version, "execute", "error", "user").inc(count)
    for _ in range(count):
        DURATION.labels(version, "execute").observe(TRAFFIC[version]["latency"])
    return JSONResponse({"version": version, "count": count})


async def calls(request: Request) -> JSONResponse:
    """Exactly `count` ok calls of `seconds` each now: latency evidence of a known size."""
    body: dict[str, Any] = await request.json()
    version, count, seconds = body.get("version"), body.get("count"), body.get("seconds")
    if version not in TRAFFIC or not isinstance(count, int) or count < 0:
        return JSONResponse({"error": "need a known version and a count >= 0"}, status_code=400)
    if not isinstance(seconds, int | float) or seconds < 0:
        return JSONResponse({"error": "need seconds >= 0"}, status_code=400)
    CALLS.labels(version, "execute", "ok", "none").inc(count)
    for _ in range(count):
        DURATION.labels(version, "execute").observe(seconds)
    return JSONResponse({"version": version, "count": count, "seconds": seconds})


@asynccontextmanager
async def lifespan(_: Starlette):  # type: ignore[no-untyped-def]
    for version in TRAFFIC:  # series exist from the start, as on a real server
        CALLS.labels(version, "execute", "ok", "none")
        CALLS.labels(version, "execute", "error", "infra")
        CALLS.labels(version, "execute", "error", "user")
        DURATION.labels(version, "execute")
    task = asyncio.create_task(_generate())
    yield
    task.cancel()


app = Starlette(
    routes=[
        Route("/metrics", metrics),
        Route("/config", config, methods=["POST"]),
        Route("/errors", errors, methods=["POST"]),
        Route("/calls", calls, methods=["POST"]),
    ],
    lifespan=lifespan,
)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
