"""The MCP workload as pods of a `PodNetwork`: what the gateway tests run (kwok tier).

Each version has its own sample backend (a pod) and one or more MCP pods; a v2 pod has the
sandbox runner beside the MCP server, as the chart's sidecar (they talk over the pod's
loopback). A version's pods share its session key (and v2's its job store), as the replicas
of one Deployment share the chart's Secret; `publish` writes them into the EndpointSlice of the
version's selector-less Service, as the endpoint controller would for real pods.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devcluster.cluster import ControlPlane
from devcluster.pod_network import Pod, PodNetwork

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "mcp_server" / "sample_backend" / "openapi.json"
# The ports inside each pod, as its containers would have them.
MCP_PORT, RUNNER_PORT, PROXY_PORT, BACKEND_PORT = 8000, 8001, 8002, 8081
START_TIMEOUT = 90.0


@dataclass
class Version:
    """One MCP version: its MCP pods (the Deployment's replicas) and its own backend's pod."""

    name: str  # v1 / v2
    backend: Pod
    pods: list[Pod] = field(default_factory=list)

    @property
    def service(self) -> str:
        return f"mcp-{self.name}"

    @property
    def backend_url(self) -> str:
        return self.backend.url(BACKEND_PORT)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        for pod in self.pods:
            pod.wait_ready(MCP_PORT, "/readyz", timeout)

    def publish(self, cp: ControlPlane, namespace: str, network: PodNetwork) -> None:
        """The Service's EndpointSlice: the version's pods that are `ready`."""
        network.publish(cp, namespace, self.service, self.pods, MCP_PORT)


def _python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def start(
    network: PodNetwork,
    name: str,
    workdir: Path,
    token: str,
    replicas: int = 1,
    config: dict[str, Any] | None = None,
) -> Version:
    """Start version `name` (its backend, `replicas` MCP pods); `config` goes to config.yaml."""
    backend = network.pod(f"backend-{name}")
    backend.run(
        "sample-backend",
        _python(
            "mcp_server.sample_backend",
            "--host=0.0.0.0",
            f"--port={BACKEND_PORT}",
            f"--token={token}",
        ),
        cwd=REPO,
    )
    folder = workdir / f"config-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SPEC, folder)
    settings = {"backendUrl": backend.url(BACKEND_PORT), **(config or {})}
    (folder / "config.yaml").write_text(yaml.safe_dump(settings))
    version = Version(name, backend)
    for index in range(replicas):
        pod = network.pod(f"mcp-{name}-{index}")
        sandbox: list[str] = []
        if name == "v2":  # Code Mode runs code in the sandbox runner, which calls v2's api-proxy
            pod.run(
                "sandbox-runner",
                _python(
                    "sandbox_runner",
                    "--host=127.0.0.1",
                    f"--port={RUNNER_PORT}",
                    f"--proxy-url=http://127.0.0.1:{PROXY_PORT}",
                    "--pool-size=1",
                ),
                cwd=REPO,
            )
            sandbox = [
                f"--sandbox-url=http://127.0.0.1:{RUNNER_PORT}",
                f"--proxy-port={PROXY_PORT}",
            ]
        mcp = ["mcp_server", f"--mode={name}", f"--config-dir={folder}", "--host=0.0.0.0"]
        pod.run("mcp", _python(*mcp, f"--port={MCP_PORT}", *sandbox), cwd=REPO)
        version.pods.append(pod)
    return version
