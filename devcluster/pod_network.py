"""Pods without a kubelet: processes in network namespaces, each with an address of its own.

The kwok tier has fake pods only, and the API server refuses loopback endpoint addresses. A
`PodNetwork` is a bridge with a /24 of its own (from 10.213.0.0/16) and one network namespace per
pod, joined to the bridge by a veth pair; a process started "in the pod" listens on the pod's
address, and an EndpointSlice of a selector-less Service points the Gateway at the pods, as the
endpoint controller would for real ones. Every name carries a per-network id, so concurrent test
runs on one machine don't collide; `stop()` removes the processes, namespaces, links and bridge,
and a network whose owner died (SIGKILL) is swept by the next one that starts: each live
network holds a lock on its record, which the kernel releases when the owner dies.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from devcluster.cluster import ControlPlane
from devcluster.processes import ManagedProcess, spawn, wait_until

ADDRESS_RANGE = ipaddress.IPv4Network("10.213.0.0/16")  # codemode's pod networks, a /24 each
STATE = Path(tempfile.gettempdir()) / "codemode-pod-networks"  # one file per live network
MANAGED_BY = "pod-network.codemode.io"  # the EndpointSlices' owner (not the endpoint controller)
START_TIMEOUT = 60.0
PORT_NAME = "http"  # the Service port and EndpointSlice port share it (Traefik matches by name)


def _ip(*args: str, check: bool = True) -> str:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def _used_ranges() -> list[ipaddress.IPv4Network]:
    routes = json.loads(_ip("-j", "-4", "route", "show", "table", "all") or "[]")
    used = []
    for route in routes:
        dst = route.get("dst", "default")
        if dst != "default" and "." in dst:
            used.append(ipaddress.IPv4Network(dst, strict=False))
    return used


def _free_subnet() -> ipaddress.IPv4Network:
    used = _used_ranges()
    for subnet in ADDRESS_RANGE.subnets(new_prefix=24):
        if not any(subnet.overlaps(other) for other in used):
            return subnet
    raise RuntimeError(f"no free /24 left in {ADDRESS_RANGE} for a pod network")


def _remove(bridge: str, namespaces: Sequence[str]) -> None:
    """Delete the namespaces (killing what still runs in them) and the bridge; idempotent."""
    existing = {line.split()[0] for line in _ip("netns", "list", check=False).splitlines() if line}
    for netns in namespaces:
        if netns not in existing:
            continue
        for pid in _ip("netns", "pids", netns, check=False).split():
            with suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        _ip("netns", "delete", netns, check=False)  # also deletes the veth pair
    if bridge:
        _ip("link", "delete", bridge, check=False)


def _sweep_orphans() -> None:
    """Remove the networks of runs that died without their teardown: nobody holds their record
    (and its pid, written for the earlier pid-only records, is gone)."""
    for record in STATE.glob("*.json"):
        with record.open("r+") as held:
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive
            try:
                state = json.loads(held.read())
            except ValueError:
                state = {}
            if Path(f"/proc/{state.get('pid', 0)}").exists():
                continue
            _remove(state.get("bridge", ""), state.get("namespaces", []))
            record.unlink(missing_ok=True)


@contextmanager
def _machine_lock() -> Iterator[None]:
    # Two runs choosing a subnet at once would both see it free.
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class Pod:
    """A network namespace with an address; its processes are the pod's containers."""

    name: str
    ip: str
    netns: str
    logs: Path
    processes: list[ManagedProcess] = field(default_factory=list)
    ready: bool = True  # what the EndpointSlice says; a test flips it to take the pod out

    def run(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        """Start `argv` inside the pod (it shares the pod's address and loopback)."""
        process = spawn(
            f"{self.name}-{name}",
            ["ip", "netns", "exec", self.netns, *argv],
            self.logs,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
        self.processes.append(process)
        return process

    def url(self, port: int) -> str:
        return f"http://{self.ip}:{port}"

    def wait_ready(self, port: int, path: str = "/", timeout: float = START_TIMEOUT) -> None:
        """Until GET `path` on the pod's address answers 2xx (a readiness probe, bounded)."""
        wait_until(
            f"pod {self.name} ({self.ip}) answering GET {path} on port {port}",
            lambda: httpx.get(f"{self.url(port)}{path}", timeout=2).is_success,
            timeout,
            alive=self.ensure_running,
        )

    def ensure_running(self) -> None:
        for process in self.processes:
            process.ensure_running()

    def kill(self) -> None:
        """SIGKILL every process of the pod: what a crashed or OOM-killed pod looks like."""
        for process in self.processes:
            process.kill()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


class PodNetwork:
    """A bridge, an address range and the pods on it; `stop()` removes all of it."""

    def __init__(self, workdir: Path) -> None:
        self.id = uuid.uuid4().hex[:6]
        self.bridge = f"cmr{self.id}"  # link names are at most 15 characters
        self.logs = workdir / "logs"
        self.pods: dict[str, Pod] = {}
        self.subnet: ipaddress.IPv4Network | None = None
        self._hosts: Iterator[ipaddress.IPv4Address] = iter(())
        self.host_ip = ""  # the bridge's address: how pods reach a host process bound to it
        self._held: IO[str] | None = None  # the record, locked for as long as the network lives

    @property
    def _record(self) -> Path:
        return STATE / f"{self.id}.json"

    def _save(self) -> None:
        if self._held is None:
            self._held = self._record.open("w")
            fcntl.flock(self._held, fcntl.LOCK_EX)
        namespaces = [pod.netns for pod in self.pods.values()]
        self._held.seek(0)
        self._held.truncate()
        state = {"pid": os.getpid(), "bridge": self.bridge, "namespaces": namespaces}
        self._held.write(json.dumps(state))
        self._held.flush()

    def start(self) -> PodNetwork:
        if os.geteuid() != 0:
            raise PermissionError("a pod network needs root (ip netns add, ip link add)")
        with _machine_lock():
            _sweep_orphans()
            self.subnet = _free_subnet()
            self._hosts = iter(self.subnet.hosts())
            self.host_ip = str(next(self._hosts))
            self._save()  # before the first link exists, so a crash right here is swept too
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.host_ip}/{self.subnet.prefixlen}", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        return self

    def pod(self, name: str) -> Pod:
        """A new pod `name` with the next free address of the range (no process yet)."""
        if self.subnet is None:
            raise RuntimeError("start() the pod network before adding pods")
        if name in self.pods:
            raise ValueError(f"pod {name} already exists in pod network {self.id}")
        ip = str(next(self._hosts))
        netns, veth = f"codemode-{self.id}-{name}", f"{self.bridge}v{len(self.pods)}"
        pod = Pod(name, ip, netns, self.logs)
        self.pods[name] = pod
        self._save()
        _ip("netns", "add", netns)
        _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
        _ip("link", "set", veth, "master", self.bridge, "up")
        _ip("-n", netns, "addr", "add", f"{ip}/{self.subnet.prefixlen}", "dev", "eth0")
        _ip("-n", netns, "link", "set", "eth0", "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        _ip("-n", netns, "route", "add", "default", "via", self.host_ip)
        return pod

    def publish(
        self, cp: ControlPlane, namespace: str, service: str, pods: Sequence[Pod], port: int
    ) -> None:
        """Apply the EndpointSlice of `service`: these pods' addresses at `port`, ready or not."""
        body = endpoint_slice(service, pods, port)
        cp.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(body))

    def stop(self) -> None:
        for pod in reversed(list(self.pods.values())):
            pod.stop()
        _remove(self.bridge, [pod.netns for pod in self.pods.values()])
        self._record.unlink(missing_ok=True)
        if self._held is not None:
            self._held.close()
            self._held = None


@contextmanager
def running(workdir: Path) -> Iterator[PodNetwork]:
    network = PodNetwork(workdir)
    try:
        yield network.start()
    finally:
        network.stop()


def service(name: str, target_port: int, port: int = 80) -> dict[str, Any]:
    """A Service without a selector: its endpoints are the EndpointSlice `publish` writes."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"ports": [{"name": PORT_NAME, "port": port, "targetPort": target_port}]},
    }


def endpoint_slice(service_name: str, pods: Sequence[Pod], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-pods",
            "labels": {
                "kubernetes.io/service-name": service_name,
                "endpointslice.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "addressType": "IPv4",
        "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [pod.ip], "conditions": {"ready": pod.ready}, "hostname": pod.name}
            for pod in pods
        ],
    }
