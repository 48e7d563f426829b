"""The operator as a real process against the real control plane, plus the objects it rolls."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devcluster import prometheus
from devcluster.cluster import ControlPlane
from devcluster.operator_process import REPO, Operator, install_crds
from devcluster.processes import free_port, spawn, stopping, wait_for, wait_until
from devcluster.watch import Watch
from devcluster.workload import gateway_workloads, rollout, timed_steps


@pytest.fixture(scope="session")
def rollout_crds(control_plane: ControlPlane, gateway_crds: None) -> None:
    install_crds(control_plane)


@pytest.fixture
def operator(
    control_plane: ControlPlane, rollout_crds: None, namespace: str, tmp_path: Path
) -> Iterator[Operator]:
    op = Operator(control_plane, namespace, tmp_path / "logs")
    op.start()
    with stopping(op):
        yield op


def status(cp: ControlPlane, namespace: str, name: str = "mcp") -> dict[str, Any]:
    return dict(cp.get_object(namespace, "cmr", name).get("status", {}))


def condition(rollout_status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in rollout_status.get("conditions", []) if c["type"] == kind), {})


def metric(op: Operator, name: str) -> float:
    text = httpx.get(op.metrics_url, timeout=5).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def ticks(op: Operator) -> float:
    return metric(op, "codemode_rollout_reconcile_seconds_count")


def holder(cp: ControlPlane, ns: str, lease: str = "codemode-operator") -> str:
    """The identity the Lease names ("" while there is none)."""
    path = "jsonpath={.spec.holderIdentity}"
    return cp.kubectl("get", "lease", lease, "-n", ns, "--ignore-not-found", "-o", path).strip()


def controller(cp: ControlPlane, ns: str, name: str = "mcp") -> dict[str, str]:
    return condition(status(cp, ns, name), "Controller")


def apply(cp: ControlPlane, namespace: str, *objects: dict[str, Any]) -> None:
    cp.apply(namespace, *objects)


def get(cp: ControlPlane, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return cp.get_object(namespace, kind, name)


@pytest.fixture
def watch(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def start(kind: str, name: str, jsonpath: str) -> Watch:
        w = Watch(control_plane, namespace, kind, name, jsonpath, tmp_path / "watch")
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


# The weighted (split) rule is the last one: the router puts the pin rules before it.
ROUTE_WEIGHTS = "{.spec.rules[-1:].backendRefs[*].weight}"
ROUTE_RULES = "{.spec.rules[*].name}"


class Exporter:
    """The metric-contract process (exporter.py) whose traffic the test steers."""

    def __init__(self, logs: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = spawn(
            "exporter",
            [sys.executable, "-m", "tests.integration.operator.exporter", f"--port={self.port}"],
            logs,
            cwd=REPO,
        )
        wait_until(
            "exporter",
            lambda: httpx.get(f"{self.url}/metrics", timeout=2).is_success,
            30,
            alive=self.process.ensure_running,
        )

    def traffic(self, **versions: dict[str, float]) -> None:
        httpx.post(f"{self.url}/config", json=versions, timeout=5).raise_for_status()

    def errors(self, version: str, count: int) -> None:
        body = {"version": version, "count": count}
        httpx.post(f"{self.url}/errors", json=body, timeout=5).raise_for_status()

    def calls(self, version: str, count: int, seconds: float) -> None:
        body = {"version": version, "count": count, "seconds": seconds}
        httpx.post(f"{self.url}/calls", json=body, timeout=5).raise_for_status()


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[Exporter]:
    e = Exporter(tmp_path / "logs")
    with stopping(e.process):
        yield e


@pytest.fixture
def prometheus_for_test(tmp_path: Path, exporter: Exporter) -> Iterator[prometheus.Prometheus]:
    """A Prometheus of this test's own (it may be killed), scraping the exporter every second."""
    scrape = [prometheus.static_job("mcp", [f"127.0.0.1:{exporter.port}"])]
    with stopping(prometheus.start(tmp_path / "prometheus", scrape)) as prom:
        yield prom


ANALYSIS_TIMEOUT = 90


@dataclass
class Rig:
    """The operator, a steerable metrics process and a Prometheus scraping it, in one namespace."""

    cp: ControlPlane
    ns: str
    operator: Operator
    exporter: Exporter
    prom: prometheus.Prometheus

    def start(
        self,
        dwell: str = "4s",
        before_rollout: Callable[[], object] = lambda: None,
        hold: str = "8s",
        analysis: Mapping[str, Any] | None = None,
        **spec: Any,
    ) -> None:
        settings = {
            "prometheus": {"address": self.prom.url, "timeout": "3s"},
            "interval": "2s",
            "minRequests": 20,
            "onMetricsUnavailable": {"after": "1h", "action": "Hold"},
            # The suspicion hold at this time scale (the seed: 1h after dwells of 30m to 2h).
            "holdOnSuspicion": {"maxDuration": hold},
            **(analysis or {}),
        }
        apply(self.cp, self.ns, *gateway_workloads())
        before_rollout()
        apply(self.cp, self.ns, rollout(steps=timed_steps(dwell), analysis=settings, **spec))

    def status(self) -> dict[str, Any]:
        return status(self.cp, self.ns)

    def wait(
        self, what: str, done: Callable[[dict[str, Any]], bool], timeout: float = ANALYSIS_TIMEOUT
    ) -> dict[str, Any]:
        """The rollout's status once `done(status)` holds (bounded by `timeout`)."""
        return wait_for(
            what, lambda: (s := self.status()) and done(s) and s, timeout, show=self.status
        )


@pytest.fixture
def rig(
    control_plane: ControlPlane,
    namespace: str,
    operator: Operator,
    exporter: Exporter,
    prometheus_for_test: prometheus.Prometheus,
) -> Rig:
    return Rig(control_plane, namespace, operator, exporter, prometheus_for_test)
