"""The local control plane: etcd, kube-apiserver, controller-manager, scheduler and kwok.

Everything listens on loopback ports chosen at start; nodes and pods are kwok's fakes, so
Deployment readiness is real API-server state written by real controllers. For a real node
(devcluster/node.py) the API server listens instead on the host end of the node's network and
advertises it, so the `kubernetes` Service leads pods to it.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devcluster import building, versions
from devcluster.certs import ClientCert, Pki
from devcluster.processes import ManagedProcess, free_port, spawn, wait_until

KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat/node-heartbeat.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)
FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
START_TIMEOUT = 120.0


def write_kubeconfig(path: Path, server: str, ca: Path, user: str, cert: ClientCert) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "devcluster", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate": str(cert.cert), "client-key": str(cert.key)},
            }
        ],
        "contexts": [{"name": "devcluster", "context": {"cluster": "devcluster", "user": user}}],
        "current-context": "devcluster",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _fake_node(name: str) -> dict[str, object]:
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


@dataclass
class ControlPlane:
    workdir: Path
    bin_dir: Path
    server: str
    kubeconfig: Path
    pki: Pki | None = None  # None for a cluster we did not start (make test-e2e)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """Environment for a child that should use this cluster (kubectl, the operator...)."""
        path = f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        return dict(os.environ, KUBECONFIG=str(self.kubeconfig), PATH=path)

    @classmethod
    def existing(cls, kubeconfig: Path, workdir: Path) -> ControlPlane:
        """A cluster of the user's (KUBECONFIG), for `make test-e2e`; nothing to start or stop."""
        return cls(workdir, building.build_all(), "", kubeconfig)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        out = subprocess.run(
            [str(self.bin_dir / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout if out.returncode == 0 else out.stdout + out.stderr

    def apply(self, namespace: str | None, *objects: dict[str, Any]) -> None:
        """`kubectl apply` of `objects` (into `namespace`; None: where each one says)."""
        where = ["-n", namespace] if namespace else []
        self.kubectl("apply", *where, "-f", "-", input=yaml.safe_dump_all(objects))

    def get_object(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        return dict(json.loads(self.kubectl("get", kind, name, "-n", namespace, "-o", "json")))

    def stop(self) -> None:
        # Reverse start order: clients first, etcd last.
        for proc in reversed(list(self.processes.values())):
            proc.stop()

    def _ssl(self) -> ssl.SSLContext:
        assert self.pki is not None, "only a control plane started here has its PKI"
        admin = self.pki.folder / "admin.crt", self.pki.folder / "admin.key"
        context = ssl.create_default_context(cafile=str(self.pki.ca))
        context.load_cert_chain(str(admin[0]), str(admin[1]))
        return context

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.server}{path}", verify=self._ssl(), timeout=5)


def _start(cp: ControlPlane, name: str, argv: list[str]) -> ManagedProcess:
    proc = spawn(name, argv, cp.workdir / "logs")
    cp.processes[name] = proc
    return proc


def start(workdir: Path, nodes: int = 2, address: str = "127.0.0.1") -> ControlPlane:
    """Start a whole control plane under `workdir`; stop it with `ControlPlane.stop()`.

    `nodes`: how many kwok fake nodes; `address`: where the API server listens (loopback, or
    the host end of a real node's network, which it then advertises to the pods).
    """
    bins = building.build_all()
    workdir.mkdir(parents=True, exist_ok=True)
    pki = Pki(workdir / "pki", extra_ips=(address,))
    sa_key, sa_pub = pki.service_account_keys()
    api_port = free_port()
    server = f"https://{address}:{api_port}"
    admin = pki.client("admin", "admin", "system:masters")
    cp = ControlPlane(workdir, bins, server, workdir / "admin.kubeconfig", pki)
    write_kubeconfig(cp.kubeconfig, server, pki.ca, "admin", admin)
    try:
        _start_etcd_and_apiserver(cp, bins, address, api_port, sa_key, sa_pub)
        _start_controllers(cp, bins, sa_key)
        for i in range(nodes):
            cp.kubectl("apply", "-f", "-", input=yaml.safe_dump(_fake_node(f"kwok-node-{i}")))
        wait_until(
            f"{nodes} kwok nodes Ready",
            lambda: (
                cp.kubectl(
                    "get",
                    "nodes",
                    "-o",
                    "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Ready')].status}{'\\n'}{end}",
                )
                .split()
                .count("True")
                == nodes
            ),
            START_TIMEOUT,
            interval=0.5,
        )
    except BaseException:
        cp.stop()
        raise
    return cp


def _start_etcd_and_apiserver(
    cp: ControlPlane, bins: Path, address: str, api_port: int, sa_key: Path, sa_pub: Path
) -> None:
    assert cp.pki is not None, "started here, so it has its PKI"
    client, peer = free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{client}"
    etcd = _start(
        cp,
        "etcd",
        [
            str(bins / "etcd"),
            "--name=default",
            f"--data-dir={cp.workdir / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ],
    )
    wait_until(
        "etcd",
        lambda: httpx.get(f"{etcd_url}/health", timeout=2).status_code == 200,
        START_TIMEOUT,
        alive=etcd.ensure_running,
    )
    serving = cp.pki.serving("apiserver")
    kubelet_client = cp.pki.client("apiserver-kubelet-client", "kube-apiserver", "system:masters")
    apiserver = _start(
        cp,
        "kube-apiserver",
        [
            str(bins / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            f"--bind-address={address}",
            f"--advertise-address={address}",
            f"--secure-port={api_port}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={cp.pki.ca}",
            f"--service-account-key-file={sa_pub}",
            f"--service-account-signing-key-file={sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/24",
            "--authorization-mode=Node,RBAC",
            f"--cert-dir={cp.workdir / 'apiserver'}",
            "--profiling=false",
            # kubectl logs/exec on a real node: the API server's client cert at the kubelet.
            f"--kubelet-client-certificate={kubelet_client.cert}",
            f"--kubelet-client-key={kubelet_client.key}",
            "--kubelet-preferred-address-types=InternalIP",
            # Loopback cannot be an endpoint of the `kubernetes` Service: with kwok's fake pods
            # nothing in-cluster needs one; a real node's pods get the advertised address.
            *(["--endpoint-reconciler-type=none"] if address == "127.0.0.1" else []),
        ],
    )
    wait_until(
        "kube-apiserver",
        lambda: cp.get("/readyz").status_code == 200,
        START_TIMEOUT,
        alive=apiserver.ensure_running,
    )


def _component_kubeconfig(cp: ControlPlane, name: str, user: str, group: str | None = None) -> Path:
    assert cp.pki is not None, "started here, so it has its PKI"
    assert cp.pki is not None
    cert = cp.pki.client(name, user, group)
    return write_kubeconfig(cp.workdir / f"{name}.kubeconfig", cp.server, cp.pki.ca, user, cert)


def _start_controllers(cp: ControlPlane, bins: Path, sa_key: Path) -> None:
    assert cp.pki is not None, "started here, so it has its PKI"
    cm = _component_kubeconfig(cp, "controller-manager", "system:kube-controller-manager")
    _start(
        cp,
        "kube-controller-manager",
        [
            str(bins / "kube-controller-manager"),
            f"--kubeconfig={cm}",
            f"--authentication-kubeconfig={cm}",
            f"--authorization-kubeconfig={cm}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--leader-elect=false",
            f"--service-account-private-key-file={sa_key}",
            f"--root-ca-file={cp.pki.ca}",
            "--use-service-account-credentials=true",
            "--controllers=*",
        ],
    )
    sched = _component_kubeconfig(cp, "scheduler", "system:kube-scheduler")
    _start(
        cp,
        "kube-scheduler",
        [
            str(bins / "kube-scheduler"),
            f"--kubeconfig={sched}",
            f"--authentication-kubeconfig={sched}",
            f"--authorization-kubeconfig={sched}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--leader-elect=false",
        ],
    )
    kwok_config = _component_kubeconfig(cp, "kwok", "kwok", "system:masters")
    stages = building.module_dir("sigs.k8s.io/kwok", versions.KWOK)
    _start(
        cp,
        "kwok",
        [
            str(bins / "kwok"),
            f"--kubeconfig={kwok_config}",
            *(f"--config={stages / stage}" for stage in KWOK_STAGES),
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            "--cidr=10.244.0.0/16",
            "--node-ip=127.0.0.1",
            f"--server-address=127.0.0.1:{free_port()}",
            "--node-lease-duration-seconds=40",
        ],
    )
