"""The real API server refuses a stale status commit (409), and the tick then does nothing else.

One tick runs in this process (`reconciling.reconcile`) with the operator's own client against
the real control plane: the rollout, its HTTPRoute and its Events are read and written for real.
Only kopf's index of the Deployments is plain data (both Ready), as the watch would give it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import kubernetes
from codemode_operator.adapters.kube import Kube
from codemode_operator.adapters.resource import ApiResource
from codemode_operator.memory import Memory
from codemode_operator.reconciling import Cluster, reconcile
from codemode_operator.rollout import DeploymentState

from devcluster.cluster import ControlPlane
from devcluster.workload import gateway_workloads, rollout

from .conftest import apply, get

LOGGER = logging.getLogger("test.stale_commit")
READY = DeploymentState(desired_replicas=2, updated_replicas=2, available_replicas=2)
STEPS = [{"weight": 5, "pause": {"duration": "1h"}}, {"weight": 100}]


class Tick:
    """A tick's view of the namespace, as handlers.py builds it, with the kopf events kept."""

    def __init__(self, cp: ControlPlane, namespace: str) -> None:
        self.cp, self.namespace = cp, namespace
        self.kube = Kube(kubernetes.config.new_client_from_config(str(cp.kubeconfig)))
        self.kopf_events: list[tuple[str, str]] = []
        self.memory = Memory()  # one operator process

    def cluster(self) -> Cluster:
        ns = self.namespace
        route = get(self.cp, ns, "httproute", "mcp")
        return Cluster(
            kube=self.kube,
            deployments={(ns, "mcp-v1"): READY, (ns, "mcp-v2"): READY},
            routes={(ns, "mcp"): {"metadata": {"name": "mcp"}, "spec": route["spec"]}},
            event=lambda _body, type_, reason, _text: self.kopf_events.append((type_, reason)),
            memory=self.memory,
        )

    def run(self, body: dict[str, Any]) -> Any:
        return asyncio.run(reconcile(body, self.cluster(), LOGGER))


def _route(cp: ControlPlane, ns: str) -> tuple[str, list[int]]:
    """The HTTPRoute's resourceVersion and its split rule's weights."""
    route = get(cp, ns, "httproute", "mcp")
    weights = [ref["weight"] for ref in route["spec"]["rules"][-1]["backendRefs"]]
    return route["metadata"]["resourceVersion"], weights


def _rollout_events(cp: ControlPlane, ns: str) -> list[str]:
    listed = json.loads(cp.kubectl("get", "events", "-n", ns, "-o", "json"))["items"]
    return [e["reason"] for e in listed if e["involvedObject"].get("kind") == "CodeModeRollout"]


def test_a_stale_commit_is_refused_and_the_ticks_actions_are_dropped(
    control_plane: ControlPlane, rollout_crds: None, namespace: str
) -> None:
    cp, ns = control_plane, namespace
    apply(cp, ns, *gateway_workloads())
    apply(cp, ns, rollout(steps=STEPS))
    tick = Tick(cp, ns)
    route = _route(cp, ns)
    assert route[1] == [100]

    # Someone's write after the tick's copy was taken: the copy is stale.
    stale = get(cp, ns, "cmr", "mcp")
    cp.kubectl("annotate", "cmr", "mcp", "-n", ns, "team=search")
    assert tick.run(stale) is None
    stored = get(cp, ns, "cmr", "mcp")
    assert stored["metadata"]["annotations"]["team"] == "search"
    assert "status" not in stored  # the decision (Progressing, step 1) was not written
    assert _route(cp, ns) == route  # nor its weight and pins: the route was not even written
    assert _rollout_events(cp, ns) == [] and tick.kopf_events == []

    # The same tick on the fresh copy commits, then acts.
    fresh = get(cp, ns, "cmr", "mcp")
    status = tick.run(fresh)
    assert status is not None and status.phase == "Progressing"
    assert get(cp, ns, "cmr", "mcp")["status"]["phase"] == "Progressing"
    moved = _route(cp, ns)
    assert moved[1] == [95, 5]
    assert _rollout_events(cp, ns) == ["Created"]

    # That copy again, as a lagging watch would hand it over: our own commit made it stale.
    assert tick.run(fresh) is None
    assert _route(cp, ns) == moved
    assert _rollout_events(cp, ns) == ["Created"] and tick.kopf_events == []

    # A tick whose status stays but which acts commits an empty patch: refused when stale, and
    # on the fresh copy accepted without a write (the resourceVersion stays).
    event = tick.cluster().event
    assert asyncio.run(ApiResource(tick.kube, fresh, event).commit({})) is None
    latest = get(cp, ns, "cmr", "mcp")
    version = latest["metadata"]["resourceVersion"]
    assert asyncio.run(ApiResource(tick.kube, latest, event).commit({})) == version
    assert get(cp, ns, "cmr", "mcp")["metadata"]["resourceVersion"] == version
