"""The operator as a real process against the real control plane, plus the objects it rolls."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from devcluster import prometheus
from devcluster.cluster import ControlPlane
from devcluster.processes import ManagedProcess, free_port, spawn, wait_until
from devcluster.workload import deployment, http_route, service

REPO = Path(__file__).resolve().parents[3]
OPERATOR_START_TIMEOUT = 60


@pytest.fixture(scope="session")
def rollout_crds(control_plane: ControlPlane, gateway_crds: None) -> None:
    for crd in sorted((REPO / "crds").glob("*.yaml")):
        control_plane.kubectl("apply", "--server-side", "-f", str(crd))
    control_plane.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s", "crd/codemoderollouts.codemode.io"
    )


class Operator:
    """`python -m codemode_operator` for one namespace (None: all); kill() is a SIGKILL."""

    def __init__(
        self,
        cp: ControlPlane,
        namespace: str | None,
        logs: Path,
        tick: float = 0.5,
        args: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        module: str = "codemode_operator",
    ) -> None:
        self.cp, self.namespace, self.logs, self.tick = cp, namespace, logs, tick
        self.module = module  # or tests.integration.operator.crashing_operator
        # A chart's flags and a ServiceAccount's kubeconfig instead of the defaults below.
        self.args = list(args) if args is not None else self._default_args()
        self.env = dict(env) if env is not None else cp.env
        self.process: ManagedProcess | None = None
        self.metrics_url = ""

    def _default_args(self) -> list[str]:
        namespace = [f"--namespace={self.namespace}"] if self.namespace else []
        return ["--standalone", f"--tick={self.tick}", *namespace]

    def start(self) -> None:
        metrics, live = free_port(), free_port()
        self.metrics_url = f"http://127.0.0.1:{metrics}/metrics"
        self.process = spawn(
            "operator",
            [
                sys.executable,
                "-m",
                self.module,
                *self.args,
                f"--metrics-port={metrics}",
                "--metrics-host=127.0.0.1",
                f"--liveness=http://127.0.0.1:{live}/healthz",
            ],
            self.logs,
            env=self.env,
            cwd=REPO,
        )
        process = self.process
        wait_until(
            "operator liveness",
            lambda: httpx.get(f"http://127.0.0.1:{live}/healthz", timeout=2).is_success,
            OPERATOR_START_TIMEOUT,
            alive=process.ensure_running,
        )

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def exited(self) -> bool:
        return self.process is not None and self.process.popen.poll() is not None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture
def operator(
    control_plane: ControlPlane, rollout_crds: None, namespace: str, tmp_path: Path
) -> Iterator[Operator]:
    op = Operator(control_plane, namespace, tmp_path / "logs")
    op.start()
    try:
        yield op
    finally:
        op.stop()


def rollout(
    name: str = "mcp",
    router: str = "gatewayAPI",
    steps: list[dict[str, Any]] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    routers = {
        "gatewayAPI": {"type": "gatewayAPI", "gatewayAPI": {"httpRoute": "mcp"}},
        "replicas": {"type": "replicas", "replicas": {"total": 4}},
    }
    body = {
        "stable": {
            "deployment": "mcp-v1",
            "service": "mcp-v1" if router == "gatewayAPI" else "mcp",
        },
        "canary": {
            "deployment": "mcp-v2",
            "service": "mcp-v2" if router == "gatewayAPI" else "mcp",
        },
        "router": routers[router],
        "steps": steps
        or [{"weight": w, "pause": {"duration": "2s"}} for w in (5, 25, 50)] + [{"weight": 100}],
        **spec,
    }
    return {
        "apiVersion": "codemode.io/v1alpha1",
        "kind": "CodeModeRollout",
        "metadata": {"name": name},
        "spec": body,
    }


def gateway_workloads(canary_pool: str | None = None) -> list[dict[str, Any]]:
    """v1 and v2 Deployments, their Services and an HTTPRoute sending all traffic to v1."""
    return [
        deployment("mcp-v1", "v1"),
        deployment("mcp-v2", "v2", pool=canary_pool),
        service("mcp-v1", "v1"),
        service("mcp-v2", "v2"),
        http_route(),
    ]


def status(cp: ControlPlane, namespace: str, name: str = "mcp") -> dict[str, Any]:
    return get(cp, namespace, "cmr", name).get("status", {})


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
    cp.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(objects))


def get(cp: ControlPlane, namespace: str, kind: str, name: str) -> dict[str, Any]:
    return json.loads(cp.kubectl("get", kind, name, "-n", namespace, "-o", "json"))


def wait_for(
    what: str,
    probe: Callable[[], Any],
    timeout: float,
    interval: float = 0.25,
    show: Callable[[], Any] | None = None,
) -> Any:
    """Poll `probe` until it returns something truthy; bounded in time; `show` explains a miss."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    context = show() if show is not None else last
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {context!r}")


class Watch:
    """`kubectl get -w` in the background: every change of one field, in order, none missed."""

    def __init__(
        self, cp: ControlPlane, namespace: str, kind: str, name: str, jsonpath: str, logs: Path
    ) -> None:
        self.output = logs / f"watch-{kind}-{name}.txt"
        logs.mkdir(parents=True, exist_ok=True)
        field = hashlib.sha256(jsonpath.encode()).hexdigest()[:8]  # two watches of one object
        self.process = spawn(
            f"watch-{kind}-{name}-{field}",
            [
                str(cp.bin_dir / "kubectl"),
                f"--kubeconfig={cp.kubeconfig}",
                "get",
                kind,
                name,
                "-n",
                namespace,
                "--watch",
                "-o",
                f"jsonpath={jsonpath}{{'\\n'}}",
            ],
            logs,
        )
        self.log = self.process.log

    def values(self) -> list[str]:
        """Distinct successive values (a repeated event of the same value counts once)."""
        lines = [line.strip() for line in self.log.read_text().splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith(("E1", "W1", "I1"))]  # klog
        return [v for i, v in enumerate(lines) if i == 0 or lines[i - 1] != v]

    def stop(self) -> None:
        self.process.stop()


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
    yield e
    e.process.stop()


@pytest.fixture
def prometheus_for_test(tmp_path: Path, exporter: Exporter) -> Iterator[prometheus.Prometheus]:
    """A Prometheus of this test's own (it may be killed), scraping the exporter every second."""
    prom = prometheus.start(
        tmp_path / "prometheus", [prometheus.static_job("mcp", [f"127.0.0.1:{exporter.port}"])]
    )
    yield prom
    prom.stop()


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
        steps = [{"weight": w, "pause": {"duration": dwell}} for w in (5, 25, 50)]
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
        body = rollout(steps=[*steps, {"weight": 100}], analysis=settings, **spec)
        apply(self.cp, self.ns, body)

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
