"""Start and stop everything the demo runs: control plane, Prometheus, pods, Gateway, operator.

The control plane holds the Deployments, Services and HTTPRoute the operator works on (kwok pods
stand in for the Deployments, so readiness is real API-server state). The MCP servers, their
sandbox runner and their sample backends run as "pods": processes in network namespaces of a
`PodNetwork`, each pod with its own address, published as the EndpointSlices of the selector-less
Services `mcp-v1`/`mcp-v2`. Traefik, the Gateway API implementation, routes the traffic to them
by the HTTPRoute. (A real kubelet node will run these pods instead; the Services then get a
selector and the endpoint controller writes the slices.)
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.split import AppliedSplit
from devcluster import cluster, gateway, gateway_api, mcp_pods, pod_network, prometheus, redis
from devcluster.cluster import ControlPlane
from devcluster.pod_network import PodNetwork
from devcluster.processes import ManagedProcess, free_port, spawn, wait_until
from devcluster.workload import deployment, http_route

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "demo"
ROUTE = "mcp"
GATEWAY = "mcp-gateway"  # the parent the HTTPRoute names (devcluster.workload.http_route)
USER_TOKEN = "demo-user-token"  # the end user's credential, forwarded by MCP to the backend
START_TIMEOUT = 90.0
V2_REPLICAS = 2  # behind Traefik's round-robin: a job is polled from either
# Each version's own key, as the chart's Secret gives one; v2's executes longer than the soft
# wait become jobs, which the load's conversations poll.
CONFIG: dict[str, dict[str, Any]] = {
    "v1": {"sessionKey": "demo-v1-key"},
    "v2": {"sessionKey": "demo-v2-key", "softWaitSeconds": 0.25},
}


@dataclass
class Stack:
    control_plane: ControlPlane
    prometheus: prometheus.Prometheus
    versions: dict[str, mcp_pods.Version]
    gateway: gateway.Gateway
    split: AppliedSplit
    processes: list[ManagedProcess]

    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self.processes}

    def apply(self, *objects: dict[str, Any]) -> None:
        apply(self.control_plane, *objects)


def apply(cp: ControlPlane, *objects: dict[str, Any]) -> None:
    cp.kubectl("apply", "-n", NAMESPACE, "-f", "-", input=yaml.safe_dump_all(objects))


def _install_crds(cp: ControlPlane) -> None:
    for crd in [*gateway_api.crd_files(), *sorted((REPO / "crds").glob("*.yaml"))]:
        cp.kubectl("apply", "--server-side", "-f", str(crd))
    cp.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        "crd/codemoderollouts.codemode.io",
        "crd/httproutes.gateway.networking.k8s.io",
    )


def _python(
    name: str, args: list[str], logs: Path, env: dict[str, str] | None = None
) -> ManagedProcess:
    return spawn(name, [sys.executable, "-m", *args], logs, env=env, cwd=REPO)


def _start_versions(
    workdir: Path, network: PodNetwork, store: redis.Redis
) -> dict[str, mcp_pods.Version]:
    v2 = {**CONFIG["v2"], "jobStoreUrl": store.url}
    return {
        "v1": mcp_pods.start(network, "v1", workdir, USER_TOKEN, config=CONFIG["v1"]),
        "v2": mcp_pods.start(network, "v2", workdir, USER_TOKEN, V2_REPLICAS, config=v2),
    }


def _start_operator(cp: ControlPlane, logs: Path) -> ManagedProcess:
    metrics, live = free_port(), free_port()
    operator = _python(
        "operator",
        [
            "codemode_operator",
            "--standalone",
            "--tick=0.5",
            f"--namespace={NAMESPACE}",
            f"--metrics-port={metrics}",
            "--metrics-host=127.0.0.1",
            f"--liveness=http://127.0.0.1:{live}/healthz",
        ],
        logs,
        env=cp.env,
    )
    wait_until(
        "operator liveness",
        lambda: httpx.get(f"http://127.0.0.1:{live}/healthz", timeout=2).is_success,
        START_TIMEOUT,
        alive=operator.ensure_running,
    )
    return operator


def _stop_all(processes: list[ManagedProcess]) -> None:
    """The processes still listed at exit, the last started first."""
    for process in reversed(processes):
        process.stop()


@contextmanager
def running(workdir: Path) -> Iterator[Stack]:
    """Everything up, in dependency order; on exit (also Ctrl-C or a failure) all of it stops."""
    with ExitStack() as cleanup:
        cleanup.callback(signal.signal, signal.SIGINT, signal.getsignal(signal.SIGINT))
        processes: list[ManagedProcess] = []
        cleanup.callback(_stop_all, processes)
        network = cleanup.enter_context(pod_network.running(workdir / "pods"))
        # The pods start in the background while the control plane comes up.
        store = redis.start(workdir / "redis", host=network.host_ip)  # the pods reach the bridge
        processes.append(store.process)
        versions = _start_versions(workdir, network, store)
        for version in versions.values():
            for pod in (version.backend, *version.pods):
                processes.extend(pod.processes)
        cp = cluster.start(workdir / "cluster")  # stops itself if it fails to start
        processes.extend(cp.processes.values())
        _install_crds(cp)
        cp.kubectl("create", "namespace", NAMESPACE)
        objects = [deployment("mcp-v1", "v1"), deployment("mcp-v2", "v2", release="v2-r1")]
        objects += [pod_network.service(v.service, mcp_pods.MCP_PORT) for v in versions.values()]
        apply(cp, *objects, http_route(ROUTE))
        for version in versions.values():
            version.publish(cp, NAMESPACE, network)
        targets = [f"{p.ip}:{mcp_pods.MCP_PORT}" for v in versions.values() for p in v.pods]
        prom = prometheus.start(workdir / "prometheus", [prometheus.static_job("mcp", targets)])
        processes.append(prom.process)
        for version in versions.values():
            version.wait_ready(START_TIMEOUT)
        gw = cleanup.enter_context(gateway.start(cp, workdir / "gateway", NAMESPACE, GATEWAY))
        processes.append(gw.process)
        split = AppliedSplit(gw, NAMESPACE, ROUTE)
        wait_until(
            "Traefik running the HTTPRoute", lambda: bool(gw.applied_weights(NAMESPACE, ROUTE)), 30
        )
        split.start()
        cleanup.callback(split.stop)
        processes.append(_start_operator(cp, workdir / "logs"))
        # Runs first on the way out: a second Ctrl-C must not cut the teardown short.
        cleanup.callback(signal.signal, signal.SIGINT, signal.SIG_IGN)
        yield Stack(cp, prom, versions, gw, split, processes)
