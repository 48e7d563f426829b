"""One conversation, one version, through a real Gateway (Traefik) and the official MCP client.

The MCP servers run as pods (network namespaces) behind their Services' EndpointSlices: v1, and
v2 as two replicas sharing a session key and a Redis job store. The HTTPRoute is what the
operator's gatewayAPI router writes (with_weight, with_pins). Half the conversations speak the
session era of the protocol (2025-11-25: Mcp-Session-Id), half the sessionless one (2026-07-28:
the version cookie). Each behaves like a model's (codemode_cli/conversation.py) and counts the
calls another version answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from codemode_operator.adapters.routers.gateway_api import with_pins, with_weight

from codemode_cli.conversation import Conversation, converse
from codemode_cli.traffic import ERAS, connect, http_client
from devcluster import mcp_pods, redis
from devcluster.cluster import ControlPlane
from devcluster.gateway import Gateway
from devcluster.pod_network import PodNetwork, service
from devcluster.processes import wait_until
from devcluster.split_rig import Rig, refs, route
from tests.binomial import interval
from tests.jobs import job_code, poll_all

TOKEN = "gateway-user-token"
ALPHA = 1e-6  # the chance that a correct split fails the share bound below
REPORTED = 0.01  # the 99% interval, printed beside the asserted one
JOB_SECONDS = 0.4  # each execute sleeps this long: over softWaitSeconds, so it is a job
CONFIG = {"v1": {"sessionKey": "gateway-test-v1"}, "v2": {"sessionKey": "gateway-test-v2"}}

pytestmark = pytest.mark.slow


@dataclass
class McpRig:
    rig: Rig
    versions: dict[str, mcp_pods.Version]
    network: PodNetwork

    @property
    def url(self) -> str:
        return f"{self.rig.gateway.url}/mcp"

    def route(self, weight: int, pins: tuple[str, ...]) -> None:
        """The route as the operator's router writes it, and wait until Traefik runs it."""
        body = route(self.rig.gateway, [{"backendRefs": refs(mcp_v1=100, mcp_v2=0)}])
        body = with_pins(with_weight(body, "mcp-v1", "mcp-v2", weight), "mcp-v1", "mcp-v2", pins)
        self.rig.apply(body)
        services = {"v1": "mcp-v1", "v2": "mcp-v2"}
        pinned = [{services[v]: 1} for v in pins for _ in range(2)]  # two matches per pin rule
        self.rig.wait_applied([*pinned, {"mcp-v1": 100 - weight, "mcp-v2": weight}])


@pytest.fixture
def mcp(
    control_plane: ControlPlane,
    namespace: str,
    local_gateway: Gateway,
    pods: PodNetwork,
    tmp_path: Path,
) -> Iterator[McpRig]:
    store = redis.start(tmp_path / "redis", host=pods.host_ip)  # the pods reach the bridge
    try:
        config = {**CONFIG["v2"], "jobStoreUrl": store.url, "softWaitSeconds": 0.2}
        versions = {
            "v1": mcp_pods.start(pods, "v1", tmp_path, TOKEN, config=CONFIG["v1"]),
            "v2": mcp_pods.start(pods, "v2", tmp_path, TOKEN, replicas=2, config=config),
        }
        rig = Rig(control_plane, namespace, local_gateway, {})
        for version in versions.values():
            version.wait_ready()
            rig.apply(service(version.service, target_port=mcp_pods.MCP_PORT))
            version.publish(control_plane, namespace, pods)
        yield McpRig(rig, versions, pods)
    finally:
        store.stop()


async def _talks(rig: McpRig, n: int, calls: int, **options: Any) -> list[Conversation]:
    """`n` conversations of `calls` calls, both eras, a few at a time (the machine is small)."""
    limit = asyncio.Semaphore(6)

    async def one(index: int) -> Conversation:
        async with limit:
            era = ERAS[index % len(ERAS)]
            return await converse(rig.url, TOKEN, era, calls, job_seconds=JOB_SECONDS, **options)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


def _problems(talks: list[Conversation]) -> list[Conversation]:
    return [t for t in talks if t.failed or t.broken or t.mixed or t.restarts]


@pytest.mark.parametrize("weight", [5, 25, 50])
async def test_each_conversation_stays_on_one_version_and_the_weight_places_new_ones(
    mcp: McpRig, weight: int
) -> None:
    mcp.route(weight, ("v1", "v2"))
    full = await _talks(mcp, 20, 20)  # the 20 sessions of 20 calls of their own tools
    short = await _talks(mcp, 80, 2)  # more new conversations, for the share's bound
    talks = full + short
    assert _problems(talks) == [], _problems(talks)[:3]
    assert all(t.calls >= 20 for t in full)
    on_v2 = sum(t.version == "v2" for t in talks)
    lo, hi = interval(len(talks), weight / 100, ALPHA)
    reported = interval(len(talks), weight / 100, REPORTED)
    first = sum(t.version == "v2" for t in full)
    print(
        f"weight {weight}: {on_v2}/{len(talks)} new conversations on v2 (the first 20: {first});"
        f" 99% interval {reported}, asserted (1e-6) {(lo, hi)}"
    )
    assert lo <= on_v2 <= hi, (weight, on_v2, (lo, hi))


async def test_a_rollback_moves_live_v2_conversations_to_v1_with_one_refusal_each(
    mcp: McpRig,
) -> None:
    talks = [Conversation(ERAS[i % 2]) for i in range(12)]

    async def run(talk: Conversation) -> Conversation:
        return await converse(
            mcp.url, TOKEN, talk.era, 24, job_seconds=JOB_SECONDS, pace=0.3, talk=talk
        )

    mcp.route(100, ("v1", "v2"))  # the first six start on v2 ...
    tasks = [asyncio.create_task(run(t)) for t in talks[:6]]
    await _until(lambda: all(t.versions for t in talks[:6]), "six conversations on v2")
    mcp.route(0, ("v1", "v2"))  # ... the next six on v1, while v2's stay pinned to v2
    tasks += [asyncio.create_task(run(t)) for t in talks[6:]]
    await _until(lambda: all(t.calls >= 3 for t in talks), "every conversation three calls in")
    mcp.route(0, ("v1",))  # the rollback: weight 0 and v2's pin gone (rollout/pins.py)
    await asyncio.gather(*tasks)
    for talk in talks[:6]:
        assert talk.versions == ["v2", "v1"] and talk.restarts == 1, talk  # one 404 / 409
    for talk in talks[6:]:
        assert talk.versions == ["v1"] and talk.restarts == 0, talk
    for talk in talks:
        assert (talk.failed, talk.broken, talk.mixed) == (0, "", 0), talk
        assert talk.calls >= 24


async def _until(check: Any, what: str, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"{what}: not within {seconds:.0f}s")
        await asyncio.sleep(0.1)


async def test_jobs_are_polled_through_round_robin_and_after_their_replica_is_killed(
    mcp: McpRig,
) -> None:
    mcp.route(100, ("v1", "v2"))
    v2 = mcp.versions["v2"]
    async with http_client(TOKEN) as http, connect(mcp.url, http, "session") as client:
        jobs = {}
        for value in range(50):
            started = await client.call_tool("execute", {"code": job_code(JOB_SECONDS, value)})
            assert started.structured_content["state"] == "running", started
            jobs[started.structured_content["jobId"]] = value
        assert await poll_all(client, jobs, 30) == []
        # Traefik spread them over both replicas (its access log names the pod of each call).
        addresses = {r.address.split(":")[0] for r in mcp.rig.gateway.requests() if r.address}
        assert {pod.ip for pod in v2.pods} <= addresses
        killed = v2.pods[0]
        killed.kill()  # the replica that ran half of the jobs, without a goodbye
        killed.ready = False
        v2.publish(mcp.rig.cp, mcp.rig.namespace, mcp.network)
        wait_until(
            "Traefik sending v2's requests to the surviving replica only",
            lambda: _all_healthy(mcp.rig.gateway.url, 10),
            30,
        )
        assert await poll_all(client, jobs, 0) == []


def _all_healthy(url: str, n: int) -> bool:
    with httpx.Client(base_url=url, timeout=5) as client:
        return all(client.get("/healthz").status_code == 200 for _ in range(n))
