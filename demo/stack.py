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

import shutil
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
from devcluster import cluster, gateway, gateway_api, pod_network, prometheus
from devcluster.cluster import ControlPlane
from devcluster.pod_network import Pod, PodNetwork
from devcluster.processes import ManagedProcess, free_port, spawn, wait_until
from devcluster.workload import deployment, http_route

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "demo"
ROUTE = "mcp"
GATEWAY = "mcp-gateway"  # the parent the HTTPRoute names (devcluster.workload.http_route)
USER_TOKEN = "demo-user-token"  # the end user's credential, forwarded by MCP to the backend
# Parameterless reads that both versions serve as tools (v2 exposes them as natives), so every
# call is valid whichever version the Gateway picks for it.
TOOLS = ("listProjects", "listRegions", "getCurrentUser", "listTeamMembers")
START_TIMEOUT = 90.0
# The ports inside each pod, as its containers would have them.
MCP_PORT, RUNNER_PORT, BACKEND_PORT = 8000, 8001, 8081


@dataclass
class Version:
    """One MCP version: its pod (MCP server, and v2's sandbox runner), its own backend's pod."""

    name: str  # v1 / v2
    pod: Pod
    backend: Pod

    @property
    def service(self) -> str:
        return f"mcp-{self.name}"

    @property
    def url(self) -> str:
        return self.pod.url(MCP_PORT)

    @property
    def backend_url(self) -> str:
        return self.backend.url(BACKEND_PORT)


@dataclass
class Stack:
    control_plane: ControlPlane
    prometheus: prometheus.Prometheus
    versions: dict[str, Version]
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


def _start_version(name: str, workdir: Path, network: PodNetwork) -> Version:
    """The version's own sample backend (a pod), and its MCP pod: for v2 with the sandbox
    runner beside the MCP server, as the chart's sidecar (they talk over the pod's loopback)."""
    backend = network.pod(f"backend-{name}")
    backend.run(
        "sample-backend",
        [
            sys.executable,
            "-m",
            "mcp_server.sample_backend",
            "--host=0.0.0.0",
            f"--port={BACKEND_PORT}",
            f"--token={USER_TOKEN}",
        ],
        cwd=REPO,
    )
    config = workdir / f"config-{name}"
    config.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mcp_server" / "sample_backend" / "openapi.json", config)
    (config / "config.yaml").write_text(
        yaml.safe_dump({"backendUrl": backend.url(BACKEND_PORT), "natives": list(TOOLS)})
    )
    pod = network.pod(f"mcp-{name}-0")
    sandbox: list[str] = []
    if name == "v2":  # Code Mode runs code in the sandbox runner, which calls v2's api-proxy
        pod.run(
            "sandbox-runner",
            [
                sys.executable,
                "-m",
                "sandbox_runner",
                "--host=127.0.0.1",
                f"--port={RUNNER_PORT}",
                f"--proxy-url=http://127.0.0.1:{MCP_PORT}",
                "--pool-size=1",
            ],
            cwd=REPO,
        )
        sandbox = [f"--sandbox-url=http://127.0.0.1:{RUNNER_PORT}"]
    pod.run(
        "mcp",
        [
            sys.executable,
            "-m",
            "mcp_server",
            f"--mode={name}",
            f"--config-dir={config}",
            "--host=0.0.0.0",
            f"--port={MCP_PORT}",
            *sandbox,
        ],
        cwd=REPO,
    )
    return Version(name, pod, backend)


def _wait_ready(versions: dict[str, Version]) -> None:
    for version in versions.values():
        version.pod.wait_ready(MCP_PORT, "/readyz", START_TIMEOUT)


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


@contextmanager
def running(workdir: Path) -> Iterator[Stack]:
    """Everything up, in dependency order; on exit (also Ctrl-C or a failure) all of it stops."""
    with ExitStack() as cleanup:
        cleanup.callback(signal.signal, signal.SIGINT, signal.getsignal(signal.SIGINT))
        processes: list[ManagedProcess] = []
        cleanup.callback(lambda: [p.stop() for p in reversed(processes)])
        network = cleanup.enter_context(pod_network.running(workdir / "pods"))
        # The pods start in the background while the control plane comes up.
        versions = {name: _start_version(name, workdir, network) for name in ("v1", "v2")}
        for version in versions.values():
            processes.extend([*version.backend.processes, *version.pod.processes])
        cp = cluster.start(workdir / "cluster")  # stops itself if it fails to start
        processes.extend(cp.processes.values())
        _install_crds(cp)
        cp.kubectl("create", "namespace", NAMESPACE)
        objects = [deployment("mcp-v1", "v1"), deployment("mcp-v2", "v2", release="v2-r1")]
        objects += [pod_network.service(v.service, MCP_PORT) for v in versions.values()]
        apply(cp, *objects, http_route(ROUTE))
        for version in versions.values():
            network.publish(cp, NAMESPACE, version.service, [version.pod], MCP_PORT)
        targets = [f"{v.pod.ip}:{MCP_PORT}" for v in versions.values()]
        prom = prometheus.start(workdir / "prometheus", [prometheus.static_job("mcp", targets)])
        processes.append(prom.process)
        _wait_ready(versions)
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
