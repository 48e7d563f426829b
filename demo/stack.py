"""Start and stop everything the demo runs: control plane, Prometheus, workloads, nginx, operator.

The control plane holds the Deployments, Services and HTTPRoute the operator works on (kwok pods
stand in for the workloads, so readiness is real API-server state); the real MCP processes on
loopback serve the traffic, split by nginx as the HTTPRoute says.
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

from demo.splitter import Splitter
from devcluster import cluster, gateway_api, prometheus
from devcluster.cluster import ControlPlane
from devcluster.processes import ManagedProcess, free_port, spawn, wait_until
from devcluster.workload import deployment, http_route, service

REPO = Path(__file__).resolve().parent.parent
NAMESPACE = "demo"
ROUTE = "mcp"
USER_TOKEN = "demo-user-token"  # the end user's credential, forwarded by MCP to the backend
# v2's executes that run longer than this become jobs: the load's conversations poll them.
SOFT_WAIT_SECONDS = 0.25
START_TIMEOUT = 90.0


@dataclass
class Version:
    """One MCP version: its process, its own sample backend, and its Kubernetes names."""

    name: str  # v1 / v2
    port: int
    backend_url: str

    @property
    def service(self) -> str:
        return f"mcp-{self.name}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    control_plane: ControlPlane
    prometheus: prometheus.Prometheus
    versions: dict[str, Version]
    splitter: Splitter
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


def _spawn_version(name: str, workdir: Path, processes: list[ManagedProcess]) -> Version:
    """The version's own sample backend, (v2) its sandbox runner, and the MCP server."""
    logs = workdir / "logs"
    backend_port, port = free_port(), free_port()
    processes.append(
        _python(
            f"backend-{name}",
            ["mcp_server.sample_backend", f"--port={backend_port}", f"--token={USER_TOKEN}"],
            logs,
        )
    )
    backend_url = f"http://127.0.0.1:{backend_port}"
    config = workdir / f"config-{name}"
    config.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mcp_server" / "sample_backend" / "openapi.json", config)
    (config / "config.yaml").write_text(
        yaml.safe_dump({"backendUrl": backend_url, "softWaitSeconds": SOFT_WAIT_SECONDS})
    )
    sandbox: list[str] = []
    if name == "v2":  # Code Mode runs code in the sandbox runner, which calls v2's api-proxy
        runner_port = free_port()
        processes.append(
            _python(
                "sandbox-runner",
                [
                    "sandbox_runner",
                    "--host=127.0.0.1",
                    f"--port={runner_port}",
                    f"--proxy-url=http://127.0.0.1:{port}",
                    "--pool-size=1",
                ],
                logs,
            )
        )
        sandbox = [f"--sandbox-url=http://127.0.0.1:{runner_port}"]
    processes.append(
        _python(
            f"mcp-{name}",
            ["mcp_server", f"--mode={name}", f"--config-dir={config}", f"--port={port}", *sandbox],
            logs,
        )
    )
    return Version(name, port, backend_url)


def _wait_ready(versions: dict[str, Version], processes: list[ManagedProcess]) -> None:
    def all_alive() -> None:
        for process in processes:
            process.ensure_running()

    for version in versions.values():
        wait_until(
            f"MCP {version.name} /readyz",
            lambda v=version: httpx.get(f"{v.url}/readyz", timeout=2).is_success,
            START_TIMEOUT,
            alive=all_alive,
        )


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
        # The workloads start in the background while the control plane comes up.
        versions = {name: _spawn_version(name, workdir, processes) for name in ("v1", "v2")}
        cp = cluster.start(workdir / "cluster")  # stops itself if it fails to start
        processes.extend(cp.processes.values())
        _install_crds(cp)
        cp.kubectl("create", "namespace", NAMESPACE)
        objects = [deployment("mcp-v1", "v1"), deployment("mcp-v2", "v2", release="v2-r1")]
        objects += [service(f"mcp-{name}", name) for name in versions] + [http_route(ROUTE)]
        apply(cp, *objects)
        targets = [f"127.0.0.1:{v.port}" for v in versions.values()]
        prom = prometheus.start(workdir / "prometheus", [prometheus.static_job("mcp", targets)])
        processes.append(prom.process)
        _wait_ready(versions, processes)
        splitter = Splitter(
            workdir / "nginx",
            cp.kubeconfig,
            NAMESPACE,
            ROUTE,
            {v.service: v.port for v in versions.values()},
        )
        processes.append(splitter.start())
        cleanup.callback(splitter.stop)
        processes.append(_start_operator(cp, workdir / "logs"))
        # Runs first on the way out: a second Ctrl-C must not cut the teardown short.
        cleanup.callback(signal.signal, signal.SIGINT, signal.SIG_IGN)
        yield Stack(cp, prom, versions, splitter, processes)
