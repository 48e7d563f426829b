"""Start and stop everything the demo runs: the staging stack, with the charts installed on it.

devcluster/staging.py starts the control plane with one real node (kubelet, containerd with
runc and the bridge CNI, kube-proxy, CoreDNS), the registry the node pulls the project's images
from, Prometheus discovering the pods (`kubernetes_sd_configs`) and Traefik programming the
Gateway `gateways/public`. On it, as a team installs them (devcluster/staging_install.py): two
sample backends (`platform-api` for v1, `platform-api-v2` for v2), then
both charts by the README's commands with the demo's values layered on (demo/values/): the
operator in-cluster from its image with its chart's RBAC, MCP v1 and v2 (with the sandbox
sidecar and the chart's Redis job store) as pods of the node, and the chart's HTTPRoute.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from demo.split import AppliedSplit
from devcluster import staging, staging_install, versions
from devcluster.cluster import ControlPlane
from devcluster.gateway import Gateway
from devcluster.processes import ManagedProcess, wait_until
from devcluster.prometheus import Prometheus
from devcluster.staging import Staging
from devcluster.staging_install import BACKEND, BACKEND_NAMESPACE, BACKEND_PORT, MCP_NAMESPACE

REPO = Path(__file__).resolve().parent.parent
VALUES = REPO / "demo" / "values"
NAMESPACE = MCP_NAMESPACE
RELEASE = "codemode-mcp"  # the README's release: its Deployments, Services and HTTPRoute
ROUTE = RELEASE
PUBLIC_URL = "http://mcp.example.com"  # the example values' hostname; Traefik is its proxy
USER_TOKEN = "demo-user-token"  # the end user's credential, forwarded by MCP to the backend
V2_BACKEND = "platform-api-v2"  # v2's own (demo/values/codemode-mcp.yaml)
# In-cluster, as the operator reaches it (the example values' address).
PROMETHEUS_URL = (
    f"http://prometheus.{staging.MONITORING_NAMESPACE}:{staging.PROMETHEUS_SERVICE_PORT}"
)
HELM_TIMEOUT = 180


@dataclass(frozen=True)
class Version:
    name: str  # v1 or v2: the `version` label of the MCP servers' metrics
    service: str  # its Deployment and Service (the chart's names)


VERSIONS = {v: Version(v, f"{RELEASE}-{v}") for v in ("v1", "v2")}


@dataclass
class Stack:
    staging: Staging
    split: AppliedSplit
    versions: dict[str, Version] = field(default_factory=lambda: dict(VERSIONS))

    @property
    def control_plane(self) -> ControlPlane:
        assert self.staging.cp is not None
        return self.staging.cp

    @property
    def prometheus(self) -> Prometheus:
        assert self.staging.prometheus is not None
        return self.staging.prometheus

    @property
    def gateway(self) -> Gateway:
        assert self.staging.gateway is not None
        return self.staging.gateway

    @property
    def processes(self) -> list[ManagedProcess]:
        return self.staging.processes()

    def pids(self) -> dict[str, int]:
        return {p.name: p.popen.pid for p in self.processes}

    def apply(self, *objects: dict[str, Any]) -> None:
        self.control_plane.apply(NAMESPACE, *objects)

    def helm(self, *args: str) -> str:
        out = subprocess.run(
            [str(self.control_plane.bin_dir / "helm"), *args],
            env=self.control_plane.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=HELM_TIMEOUT,
        )
        if out.returncode != 0:
            raise RuntimeError(f"helm {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def reset_route(self) -> None:
        """The HTTPRoute's rules back to the chart's (100% v1, no pins): where a rollout starts.

        A `helm upgrade` would not do it (the rules did not change in the chart)."""
        manifest = self.helm("get", "manifest", RELEASE, "--namespace", NAMESPACE)
        route = next(
            doc for doc in yaml.safe_load_all(manifest) if doc and doc["kind"] == "HTTPRoute"
        )
        patch = json.dumps({"spec": {"rules": route["spec"]["rules"]}})
        self.control_plane.kubectl(
            "patch", "httproute", ROUTE, "-n", NAMESPACE, "--type=merge", "-p", patch
        )

    def backend_url(self, name: str) -> str:
        """The sample backend `name` at its pod's address (the host routes to the pod network)."""
        (pod,) = staging_install.pods(self.staging, BACKEND_NAMESPACE, f"app={name}")
        return f"http://{pod['status']['podIP']}:{BACKEND_PORT}"

    def node_facts(self) -> dict[str, Any]:
        """The node the pods ran on, as the API server has it, and where each pod ran."""
        assert self.staging.node is not None
        name = self.staging.node.name
        node = json.loads(self.control_plane.kubectl("get", "node", name, "-o", "json"))
        info = node["status"]["nodeInfo"]
        listed = json.loads(self.control_plane.kubectl("get", "pods", "-A", "-o", "json"))
        ran = {
            f"{pod['metadata']['namespace']}/{pod['metadata']['name']}": pod["spec"].get("nodeName")
            for pod in listed["items"]
        }
        return {
            "name": name,
            "labels": {k: v for k, v in node["metadata"]["labels"].items() if "codemode" in k},
            # Built from the pinned module (devcluster/versions.py), without the release's
            # version stamp: the kubelet reports v0.0.0-master.
            "kubernetes": versions.KUBERNETES,
            "kubeletReports": info["kubeletVersion"],
            "containerRuntime": info["containerRuntimeVersion"],
            "kernel": info["kernelVersion"],
            "pods": ran,
        }


def _install(stack: Staging) -> None:
    staging_install.install(
        stack,
        backends=(BACKEND, V2_BACKEND),
        values={
            "codemode-operator": [VALUES / "codemode-operator.yaml"],
            RELEASE: [VALUES / f"{RELEASE}.yaml"],
        },
    )


@contextmanager
def running(workdir: Path) -> Iterator[Stack]:
    """Everything up, in dependency order; on exit (also Ctrl-C or a failure) all of it stops."""
    with ExitStack() as cleanup:
        cleanup.callback(signal.signal, signal.SIGINT, signal.getsignal(signal.SIGINT))
        stack = staging.start(workdir)  # stops itself if it fails to start
        cleanup.callback(stack.stop)
        _install(stack)
        assert stack.gateway is not None
        split = AppliedSplit(
            stack.gateway, NAMESPACE, ROUTE, VERSIONS["v1"].service, VERSIONS["v2"].service
        )
        wait_until(
            "Traefik running the HTTPRoute",
            lambda: bool(stack.gateway and stack.gateway.applied_weights(NAMESPACE, ROUTE)),
            30,
        )
        split.start()
        cleanup.callback(split.stop)
        # Runs first on the way out: a second Ctrl-C must not cut the teardown short.
        cleanup.callback(signal.signal, signal.SIGINT, signal.SIG_IGN)
        yield Stack(stack, split)
