"""The staging stack: the control plane with one real node, its registry and cluster DNS,
Prometheus discovering the pods and Traefik as the Gateway, as one start/stop (the staging
tests and `make demo` run on it).

Pods reach the host's servers through Services of the cluster: `kubernetes` (the API server
advertises the host end of the node's network) and `prometheus` in `monitoring`, a Service
without selector whose EndpointSlice names Prometheus on the host, as a cluster names a
server outside it. The host reaches the pods at their IPs (one route into the node).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from devcluster import (
    building,
    cluster,
    gateway,
    gateway_api,
    images,
    node,
    node_network,
    prometheus,
)
from devcluster.processes import ManagedProcess

MONITORING_NAMESPACE = "monitoring"
PROMETHEUS_SERVICE_PORT = 9090
# The Gateway the example values' HTTPRoute names (charts/codemode-mcp/ci/cluster-values.yaml).
GATEWAY = {"namespace": "gateways", "name": "public", "listener": "https"}


@dataclass
class Staging:
    workdir: Path
    network: node_network.NodeNetwork
    cp: cluster.ControlPlane | None = None
    node: node.Node | None = None
    prometheus: prometheus.Prometheus | None = None
    gateway: gateway.Gateway | None = None

    def stop(self) -> None:
        for part in (self.gateway, self.prometheus, self.node, self.cp):
            if part is not None:
                part.stop()
        self.network.delete()

    def processes(self) -> list[ManagedProcess]:
        """Every host process of the stack (the node's containers run under its pid 1)."""
        found = list(self.cp.processes.values()) if self.cp else []
        if self.node is not None:
            found += [self.node.init] if self.node.init else []
            found += [self.node.registry.process] if self.node.registry else []
            found += self.node.processes.values()
        found += [part.process for part in (self.prometheus, self.gateway) if part is not None]
        return found

    def leftovers(self) -> list[str]:
        """What of the stack is still on the host after `stop()`: processes naming its workdir,
        mounts under it, its network namespace, link and cgroups (all empty when it stopped)."""
        found = []
        if self.network.netns_path.exists():
            found.append(f"network namespace {self.network.netns}")
        if Path(f"/sys/class/net/{self.network.host_link}").exists():
            found.append(f"link {self.network.host_link}")
        if str(self.workdir) in Path("/proc/self/mountinfo").read_text():
            found.append("mounts under the workdir")
        for hierarchy in Path("/sys/fs/cgroup").iterdir():
            if (hierarchy / self.network.netns).exists():
                found.append(f"cgroup {hierarchy.name}/{self.network.netns}")
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(self.workdir) in cmdline:
                found.append(f"process {proc.name}: {cmdline.replace(chr(0), ' ')[:120]}")
        return found


def _prometheus_service(prom: prometheus.Prometheus) -> list[dict[str, Any]]:
    host, port = prom.url.removeprefix("http://").rsplit(":", 1)
    meta = {"name": "prometheus", "namespace": MONITORING_NAMESPACE}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": MONITORING_NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "ports": [{"name": "web", "port": PROMETHEUS_SERVICE_PORT, "targetPort": int(port)}]
            },
        },
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "prometheus-host",
                "namespace": MONITORING_NAMESPACE,
                "labels": {"kubernetes.io/service-name": "prometheus"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "web", "port": int(port), "protocol": "TCP"}],
            "endpoints": [{"addresses": [host], "conditions": {"ready": True}}],
        },
    ]


def start(workdir: Path) -> Staging:
    """Build what is missing (images, binaries), then start everything; `Staging.stop()` ends it."""
    storage = images.build_all()
    workdir.mkdir(parents=True, exist_ok=True)
    staging = Staging(workdir, node_network.allocate())
    try:
        net = staging.network
        staging.cp = cp = cluster.start(workdir / "cluster", nodes=0, address=net.host_ip)
        gateway_api.install(cp)
        staging.node = node.start(cp, net, workdir / "node", storage)
        staging.prometheus = prometheus.start(
            workdir / "prometheus",
            [prometheus.pod_discovery_job("kubernetes-pods", cp.kubeconfig)],
            host=net.host_ip,
            binary=building.prometheus_binary(),
        )
        cp.kubectl(
            "apply",
            "-f",
            "-",
            input=yaml.safe_dump_all(_prometheus_service(staging.prometheus)),
        )
        cp.kubectl("create", "namespace", GATEWAY["namespace"])
        # Traefik on the host, routing to the pods' addresses through the node's route.
        staging.gateway = gateway.start(
            cp,
            workdir / "gateway",
            GATEWAY["namespace"],
            name=GATEWAY["name"],
            routes_from="All",
            listener=GATEWAY["listener"],
        )
    except BaseException:
        staging.stop()
        raise
    return staging
