"""The two rollouts: A, a healthy v2 release that reaches 100%; B, one that fails at 25%.

A is CodeModeRollout `mcp-a` for v2 as the charts installed it. Then the demo goes back to
where every rollout starts (A deleted, the HTTPRoute's rules the chart's: all on v1) and rolls
the same v2 out again with `mcp-b`. (It ships no new v2 pods in between: starting them on the
shared node starved v1, which then answered the load's calls in over 10 s.) When B reaches
25%, v2's own backend starts answering 503 (its fault switch, reached at its pod's address):
v2's calls fail as `infra` errors while v1 stays healthy on its backend, and the operator rolls
back to 100% v1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import kubernetes

from demo.split import v2_share
from demo.stack import NAMESPACE, PROMETHEUS_URL, ROUTE, V2_BACKEND, Stack, Version
from demo.traffic import Load
from demo.view import View
from devcluster import workload
from devcluster.processes import wait_for
from devcluster.workload import timed_steps

TERMINAL = ("Succeeded", "RolledBack", "Aborted")
POLL_SECONDS = 0.5
FAULT = {"error_status": 503}  # v2's backend fails every API call: `infra` for the MCP server


@dataclass(frozen=True)
class Plan:
    dwell: str = "20s"  # each of the 5%, 25% and 50% steps
    interval: str = "5s"  # analysis interval
    min_requests: int = 10  # v2 requests a step needs: ~20 at 5% of ~20 calls/s over 20 s
    hold: str = "40s"  # longest suspicion hold per step (the seed's 1h, at the demo's scale)
    timeout: float = 240.0  # per rollout


@dataclass
class Outcome:
    name: str
    release: str
    phase: str = "Pending"
    weights: list[int] = field(default_factory=list)  # v2 weights Traefik applied, in order
    seconds: float = 0.0
    fault_after: float | None = None  # seconds into the rollout when v2's backend broke
    detected_after_fault: float | None = None  # fault -> status RolledBack
    v1_after_fault: float | None = None  # fault -> Traefik running all traffic on v1
    served: dict[str, int] = field(default_factory=dict)  # requests Traefik passed per version
    prometheus: dict[str, dict[str, float]] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)


def rollout(name: str, plan: Plan, versions: dict[str, Version]) -> dict[str, Any]:
    v1, v2 = versions["v1"].service, versions["v2"].service  # each Deployment's Service too
    analysis = {
        "interval": plan.interval,
        "prometheus": {"address": PROMETHEUS_URL, "timeout": "3s"},
        "selector": f',namespace="{NAMESPACE}"',  # the pods' label (discovery)
        "minRequests": plan.min_requests,
        "onMetricsUnavailable": {"after": "1m", "action": "Hold"},
        "holdOnSuspicion": {"maxDuration": plan.hold},
    }
    return workload.rollout(
        name, steps=timed_steps(plan.dwell), stable=v1, canary=v2, route=ROUTE, analysis=analysis
    )


def prometheus_counts(stack: Stack, seconds: float) -> dict[str, dict[str, float]]:
    """Per version over the last `seconds`: requests, errors, infra errors, error rate."""
    window = f"{max(1, round(seconds))}s"
    queries = {
        "requests": f"sum by (version) (increase(mcp_tool_calls_total[{window}]))",
        "errors": f'sum by (version) (increase(mcp_tool_calls_total{{outcome="error"}}[{window}]))',
        "infraErrors": f'sum by (version) (increase(mcp_tool_calls_total{{error_kind="infra"}}[{window}]))',
    }
    counts: dict[str, dict[str, float]] = {v: dict.fromkeys(queries, 0.0) for v in stack.versions}
    for measure, promql in queries.items():
        for sample in stack.prometheus.query(promql):
            counts[sample["metric"]["version"]][measure] = round(float(sample["value"][1]))
    for row in counts.values():
        row["errorRate"] = round(row["errors"] / row["requests"], 4) if row["requests"] else 0.0
    return counts


class Scenario:
    def __init__(self, stack: Stack, load: Load, view: View, plan: Plan) -> None:
        self.stack, self.load, self.view, self.plan = stack, load, view, plan
        self._api = kubernetes.client.CustomObjectsApi(
            kubernetes.config.new_client_from_config(
                config_file=str(stack.control_plane.kubeconfig)
            )
        )

    def run(self) -> list[Outcome]:
        healthy = self._roll(Outcome("mcp-a", "r1"), fault_at=None)
        self.view.note("A done. Back to 100% v1, and v2 once more: rollout B (mcp-b)")
        self.stack.control_plane.kubectl("delete", "cmr", healthy.name, "-n", NAMESPACE)
        self.stack.reset_route()
        self._wait_for_split(0)
        return [healthy, self._roll(Outcome("mcp-b", "r1"), fault_at=25)]

    def _status(self, name: str) -> dict[str, Any]:
        body = self._api.get_namespaced_custom_object(
            "codemode.io", "v1alpha1", NAMESPACE, "codemoderollouts", name
        )
        # The custom objects API returns the decoded JSON object; its annotation says `object`.
        return dict(cast(dict[str, Any], body).get("status") or {})

    def _check_alive(self) -> None:
        for process in self.stack.processes:
            process.ensure_running()

    def _wait_for_split(self, weight: int) -> None:
        """Until Traefik runs `weight`% to v2 (its applied weights are read every 0.25 s)."""
        wait_for(
            f"Traefik applying {weight}% to v2",
            lambda: self.stack.split.canary_share == weight,
            15,
            POLL_SECONDS,
            show=lambda: f"{self.stack.split.canary_share}% to v2",
            alive=self._check_alive,
        )

    def _roll(self, outcome: Outcome, fault_at: int | None) -> Outcome:
        """Run one rollout to its end, then measure it (times, weights, traffic, Prometheus)."""
        started = time.monotonic()
        changes = len(self.stack.split.changes)
        served = self.stack.split.served()
        self.stack.apply(rollout(outcome.name, self.plan, self.stack.versions))
        self.view.note(f"{outcome.name}: created for v2 release {outcome.release}")
        fault_since = self._until_done(outcome, fault_at, started)
        if fault_since is not None:
            outcome.fault_after = round(fault_since - started, 1)
            outcome.detected_after_fault = round(time.monotonic() - fault_since, 1)
        self._wait_for_split(int(outcome.status.get("canaryWeight", 0)))
        if fault_since is not None:
            outcome.v1_after_fault = round(self.stack.split.changes[-1].at - fault_since, 1)
        outcome.seconds = round(time.monotonic() - started, 1)
        split = self.stack.split
        outcome.weights = [0] + [v2_share(c.weights, split.canary) for c in split.changes[changes:]]
        now_served = self.stack.split.served()
        outcome.served = {
            v.name: now_served.get(v.service, 0) - served.get(v.service, 0)
            for v in self.stack.versions.values()
        }
        time.sleep(2)  # two scrapes, so Prometheus has the rollout's last calls
        outcome.prometheus = prometheus_counts(self.stack, time.monotonic() - started)
        self.view.show(outcome.name, outcome.status, self.stack.split, self.load.tally)
        return outcome

    def _until_done(self, outcome: Outcome, fault_at: int | None, started: float) -> float | None:
        """Follow the status to a final phase; break v2 at `fault_at`% (returns when it did)."""
        fault_since: float | None = None
        seen: tuple[str, int] | None = None
        while outcome.phase not in TERMINAL:
            if time.monotonic() - started > self.plan.timeout:
                raise TimeoutError(f"{outcome.name} not done within {self.plan.timeout:.0f}s")
            self._check_alive()
            outcome.status = self._status(outcome.name)
            outcome.phase = outcome.status.get("phase", "Pending")
            weight = int(outcome.status.get("canaryWeight", 0))
            if (outcome.phase, weight) != seen:
                seen = (outcome.phase, weight)
                self.view.note(f"{outcome.name}: {outcome.phase}, v2 at {weight}%")
            if fault_at is not None and fault_since is None and weight == fault_at:
                fault_since = self._break_v2()
            self.view.show(outcome.name, outcome.status, self.stack.split, self.load.tally)
            time.sleep(POLL_SECONDS)
        return fault_since

    def _break_v2(self) -> float:
        backend = self.stack.backend_url(V2_BACKEND)
        httpx.put(f"{backend}/admin/faults", json=FAULT, timeout=5).raise_for_status()
        self.view.note(
            f"v2's backend {V2_BACKEND} now answers 503: v2's tool calls fail as infra errors"
        )
        return time.monotonic()
