"""A real node beside kwok: containerd + runc + CNI, kubelet and kube-proxy, as processes.

The node runs in namespaces of its own, like a small machine: its network namespace
(devcluster/node_network.py) and a pid and mount namespace whose pid 1 is
devcluster/node_init.py. Stopping it ends that pid 1, and the kernel then kills every process of
the node (shims and containers included) and drops its mounts; the cgroups it made and the
network namespace are removed after. Its state (containerd root, kubelet root, CNI IPAM, logs)
lives under the run's workdir. Images come from a registry (devcluster/registry.py) that
containerd reaches as the mirror of every registry the charts name.

Machine facts it is built for (cgroup v1 hybrid, no systemd, oom_score_adj >= 0, nofile 20000,
MTU 1400): kubelet `failCgroupV1: false` with the cgroupfs driver, runc (crun refuses the
hybrid layout), containerd `restrict_oom_score_adj`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from devcluster import building, images, registry
from devcluster.cluster import ControlPlane, write_kubeconfig
from devcluster.node_network import MTU, NodeNetwork
from devcluster.processes import ManagedProcess, spawn, wait_until

CGROUP_FS = Path("/sys/fs/cgroup")
CLUSTER_DNS_DOMAIN = "cluster.local"
START_TIMEOUT = 180.0
RUNC = "/usr/sbin/runc"
CNI_BIN = "/usr/lib/cni"


@dataclass
class Node:
    name: str
    workdir: Path
    network: NodeNetwork
    cp: ControlPlane
    init: ManagedProcess | None = None
    init_pid: int = 0
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    registry: registry.Registry | None = None

    @property
    def cgroup_root(self) -> str:
        return f"/{self.network.netns}"

    @property
    def containerd_socket(self) -> Path:
        return self.workdir / "containerd" / "containerd.sock"

    def enter(self) -> list[str]:
        """The prefix that runs a command inside the node (its pid, mount and net namespaces)."""
        return ["nsenter", f"--target={self.init_pid}", "--pid", "--mount", "--net", "--"]

    def spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        proc = spawn(name, [*self.enter(), *argv], self.workdir / "logs")
        self.processes[name] = proc
        return proc

    def run(self, *argv: str, timeout: float = 120) -> str:
        out = subprocess.run(
            [*self.enter(), *argv], capture_output=True, text=True, timeout=timeout
        )
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} on node {self.name} failed: {out.stderr.strip()}")
        return out.stdout

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop(grace=15)
        if self.init is not None:
            # pid 1 gone: the kernel kills every process left in the node's pid namespace.
            self.init.kill()
            _wait_namespace_empty(self.init_pid)
        _remove_cgroups(self.cgroup_root)
        if self.registry is not None:
            self.registry.stop()
        # containerd's images and snapshots (hundreds of MB a run); the logs stay for a look.
        for state in ("root", "state"):
            shutil.rmtree(self.workdir / "containerd" / state, ignore_errors=True)


def _wait_namespace_empty(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def _controllers() -> list[Path]:
    return [p for p in CGROUP_FS.iterdir() if p.is_dir() and not p.is_symlink()]


def _make_cgroups(root: str) -> None:
    """The node's cgroup parent in every hierarchy (kubelet requires it to exist)."""
    for hierarchy in _controllers():
        path = hierarchy / root.lstrip("/")
        path.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":  # a v1 cpuset starts empty: give it its parent's
            for name in ("cpuset.cpus", "cpuset.mems"):
                (path / name).write_text((hierarchy / name).read_text())


def _remove_cgroups(root: str) -> None:
    for hierarchy in _controllers():
        top = hierarchy / root.lstrip("/")
        if not top.exists():
            continue
        for path in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            path.rmdir()
        top.rmdir()


def _containerd_config(node: Node) -> str:
    base = node.workdir / "containerd"
    assert node.registry is not None
    mirrors = "\n".join(
        f'[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{host}"]\n'
        f'  endpoint = ["http://{node.registry.address}"]'
        for host in images.MIRRORED_REGISTRIES
    )
    return f"""version = 2
root = "{base / "root"}"
state = "{base / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{node.containerd_socket}"
[ttrpc]
  address = "{base / "containerd.sock.ttrpc"}"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{base / "opt"}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{images.PAUSE_IMAGE}"
  # oom_score_adj cannot go below the daemon's own here: clamp instead of failing the pod.
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{node.workdir / "cni" / "net.d"}"
{mirrors}
"""


def _cni_config(node: Node) -> dict[str, object]:
    return {
        "cniVersion": "1.0.0",
        "name": "codemode",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,  # nothing leaves the node's network: no NAT needed
                "hairpinMode": True,  # a pod reaching itself through its Service
                "mtu": MTU,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": node.network.pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(node.workdir / "cni" / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def _kubelet_config(node: Node, dns: str | None) -> dict[str, object]:
    assert node.cp.pki is not None
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # The kernel offers cgroup v1 (v2 only as an empty hybrid mount) and there is no systemd.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_root,
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
        "address": node.network.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(node.cp.pki.ca)},
        },
        # Only the API server (client cert of the cluster's CA) reaches it, from the host.
        "authorization": {"mode": "AlwaysAllow"},
        "clusterDomain": CLUSTER_DNS_DOMAIN,
        "clusterDNS": [dns] if dns else [],
        "resolvConf": "",
        "podLogsDir": str(node.workdir / "pod-logs"),
        "failSwapOn": False,
        "serializeImagePulls": False,
        "imageGCHighThresholdPercent": 100,
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
        },
        "evictionPressureTransitionPeriod": "5s",
        "nodeStatusReportFrequency": "10s",
        "syncFrequency": "5s",
        "fileCheckFrequency": "5s",
        "enforceNodeAllocatable": [],
        "maxPods": 60,
        "registerNode": True,
        "kubeReserved": {},
        "systemReserved": {},
    }


def _kube_proxy_config(node: Node, kubeconfig: Path) -> dict[str, object]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": node.name,
        "mode": "iptables",
        "clusterCIDR": node.network.pod_cidr,
        "bindAddress": node.network.node_ip,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # Leave the conntrack sysctls alone (some are host-wide).
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False, "syncPeriod": "5s", "minSyncPeriod": "0s"},
    }


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _start_init(node: Node) -> None:
    ready = node.workdir / "init.pid"
    node.init = spawn(
        "node-init",
        [
            "nsenter",
            f"--net={node.network.netns_path}",
            "--",
            "unshare",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount",
            "--propagation=private",
            "--mount-proc",
            "--",
            sys.executable,
            "-m",
            "devcluster.node_init",
            str(ready),
        ],
        node.workdir / "logs",
    )
    wait_until("the node's pid 1", ready.exists, 30, alive=node.init.ensure_running)
    children = Path(f"/proc/{node.init.popen.pid}/task/{node.init.popen.pid}/children")
    node.init_pid = int(children.read_text().split()[0])


def _start_containerd(node: Node) -> None:
    config = _write(node.workdir / "containerd" / "config.toml", _containerd_config(node))
    _write(node.workdir / "cni" / "net.d" / "10-codemode.conflist", json.dumps(_cni_config(node)))
    proc = node.spawn("containerd", ["containerd", f"--config={config}"])
    wait_until(
        "containerd",
        lambda: bool(node.run("ctr", f"--address={node.containerd_socket}", "version", timeout=10)),
        60,
        alive=proc.ensure_running,
    )


def _start_dns(node: Node) -> None:
    """CoreDNS on the node's address: the cluster's names for its pods (nothing forwarded)."""
    corefile = f""".:53 {{
    errors
    ready 127.0.0.1:8181
    kubernetes {CLUSTER_DNS_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {node.cp.kubeconfig} devcluster
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 5
    loadbalance
}}
"""
    path = _write(node.workdir / "Corefile", corefile)
    proc = node.spawn("coredns", [str(building.coredns_binary()), "-conf", str(path)])
    wait_until(
        "coredns ready",
        lambda: (
            "200"
            in node.run(
                sys.executable, "-c", _HTTP_STATUS, "http://127.0.0.1:8181/ready", timeout=10
            )
        ),
        60,
        interval=0.5,
        alive=proc.ensure_running,
    )


# A status code fetched from inside the node (its loopback is not the host's).
_HTTP_STATUS = (
    "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).status)"
)


def _start_kubelet(node: Node, dns: str | None) -> None:
    cp = node.cp
    assert cp.pki is not None
    cert = cp.pki.client(f"kubelet-{node.name}", f"system:node:{node.name}", "system:nodes")
    kubeconfig = write_kubeconfig(
        node.workdir / "kubelet.kubeconfig", cp.server, cp.pki.ca, f"system:node:{node.name}", cert
    )
    config = _write(node.workdir / "kubelet.yaml", yaml.safe_dump(_kubelet_config(node, dns)))
    proc = node.spawn(
        "kubelet",
        [
            str(cp.bin_dir / "kubelet"),
            f"--config={config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={node.workdir / 'kubelet'}",
            f"--hostname-override={node.name}",
            f"--node-ip={node.network.node_ip}",
            "--node-labels=codemode.io/node=real",
        ],
    )
    wait_until(
        f"node {node.name} Ready",
        lambda: (
            cp.kubectl(
                "get",
                "node",
                node.name,
                "-o",
                "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
            ).strip()
            == "True"
        ),
        START_TIMEOUT,
        interval=1,
        alive=proc.ensure_running,
    )


def _start_kube_proxy(node: Node) -> None:
    cp = node.cp
    assert cp.pki is not None
    cert = cp.pki.client("kube-proxy", "system:kube-proxy")
    kubeconfig = write_kubeconfig(
        node.workdir / "kube-proxy.kubeconfig", cp.server, cp.pki.ca, "system:kube-proxy", cert
    )
    config = _write(
        node.workdir / "kube-proxy.yaml", yaml.safe_dump(_kube_proxy_config(node, kubeconfig))
    )
    proc = node.spawn("kube-proxy", [str(cp.bin_dir / "kube-proxy"), f"--config={config}"])
    # Its first sync writes the `kubernetes` Service's rules: pods can reach the API server.
    wait_until(
        "kube-proxy's first iptables sync",
        lambda: "KUBE-SVC-" in node.network.run("iptables-save", "-t", "nat").stdout,
        60,
        interval=0.5,
        alive=proc.ensure_running,
    )


def start(
    cp: ControlPlane,
    network: NodeNetwork,
    workdir: Path,
    storage: Path,
    name: str = "node-0",
) -> Node:
    """Start the node and register it with `cp` (whose API server listens on `network.host_ip`).

    `storage`: the registry storage the node pulls its images from (images.build_all()).
    """
    for tool in (
        "containerd",
        "containerd-shim-runc-v2",
        "ctr",
        "iptables",
        RUNC,
        f"{CNI_BIN}/bridge",
    ):
        if shutil.which(tool) is None:
            raise FileNotFoundError(
                f"{tool} not found: run `make images` (installs the node's packages)"
            )
    workdir.mkdir(parents=True, exist_ok=True)
    node = Node(name, workdir, network, cp)
    try:
        node.registry = registry.start(storage, workdir / "registry", host=network.host_ip)
        _make_cgroups(node.cgroup_root)
        _start_init(node)
        _start_containerd(node)
        _start_dns(node)
        _start_kubelet(node, network.node_ip)
        _start_kube_proxy(node)
    except BaseException:
        node.stop()
        raise
    return node
