"""The real node's own network: a network namespace joined to the host by a veth pair.

The node (containerd, kubelet, kube-proxy and its pods) lives in a network namespace of its
own, as if it were a machine: kube-proxy's and CNI's iptables rules, the pod bridge and
`ip_forward` stay inside it and vanish with it, and two test runs on one host never touch each
other's rules. The host reaches the pods through one route (pod range via the node's address);
the pods reach the API server, Prometheus and the registry at the host end of the pair.
Each run takes a free slot `i` (10.231.i.0/30 for the pair, 10.232.i.0/24 for its pods) under a
host-wide lock: a slot is free when no host route overlaps its ranges (other tests make
networks of their own too), and a slot whose owner process died is reclaimed.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devcluster.building import locked

LOCK = Path("/run/codemode-rollout/node-network.lock")
SLOTS = 64
MTU = 1400  # the host's eth0 MTU: keep every hop of the pod network at or below it
_NETNS = re.compile(r"^cmr-(\d+)-(\d+)$")


def ip(*args: str, check: bool = True) -> str:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


@dataclass(frozen=True)
class NodeNetwork:
    slot: int
    netns: str  # /run/netns/<netns>
    host_link: str  # the host end of the veth pair
    host_ip: str  # the host's address as the node sees it (API server, Prometheus, registry)
    node_ip: str  # the node's InternalIP (kubelet, NodePorts)
    pod_cidr: str

    @property
    def netns_path(self) -> Path:
        return Path("/run/netns") / self.netns

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command in the node's network namespace (iptables, ip, sysctl)."""
        out = subprocess.run(
            ["ip", "netns", "exec", self.netns, *argv], capture_output=True, text=True, timeout=60
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} in {self.netns} failed: {out.stderr.strip()}")
        return out

    def delete(self) -> None:
        """Remove the namespace (its veth end, routes and iptables rules go with it)."""
        ip("link", "del", self.host_link, check=False)
        ip("netns", "del", self.netns, check=False)


def _slot_addresses(slot: int) -> tuple[str, str, str]:
    return f"10.231.{slot}.1", f"10.231.{slot}.2", f"10.232.{slot}.0/24"


def _routed() -> list[ipaddress.IPv4Network]:
    """Every IPv4 range the host routes somewhere (default route aside)."""
    ranges = []
    for line in ip("-4", "route", "show", "table", "all").splitlines():
        first = line.split()[0] if line.strip() else ""
        if first in ("broadcast", "local", "multicast", "unreachable", "prohibit", "blackhole"):
            first = line.split()[1]
        with contextlib.suppress(ValueError):
            if first != "default":
                ranges.append(ipaddress.IPv4Network(first, strict=False))
    return ranges


def _taken(slot: int, routed: list[ipaddress.IPv4Network]) -> bool:
    host_ip, _, pod_cidr = _slot_addresses(slot)
    mine = [ipaddress.ip_network(f"{host_ip}/30", strict=False), ipaddress.ip_network(pod_cidr)]
    return any(a.overlaps(b) for a in mine for b in routed)


def _reclaim_stale() -> set[int]:
    """Delete namespaces of dead owners; the slots still in use."""
    used: set[int] = set()
    for line in ip("netns", "list").splitlines():
        match = _NETNS.match(line.split()[0]) if line.strip() else None
        if not match:
            continue
        slot, owner = int(match[1]), int(match[2])
        if Path(f"/proc/{owner}").exists():
            used.add(slot)
        else:
            ip("link", "del", f"cmrn{slot}", check=False)
            ip("netns", "del", match[0], check=False)
    return used


def allocate() -> NodeNetwork:
    """Create the namespace and its veth pair in a free slot; `NodeNetwork.delete()` undoes it."""
    with locked(LOCK, "node network"):
        used = _reclaim_stale()
        routed = _routed()
        slot = next((s for s in range(SLOTS) if s not in used and not _taken(s, routed)), None)
        if slot is None:
            raise RuntimeError(
                f"all {SLOTS} node network slots are in use (ip netns list, ip route)"
            )
        host_ip, node_ip, pod_cidr = _slot_addresses(slot)
        net = NodeNetwork(
            slot, f"cmr-{slot}-{os.getpid()}", f"cmrn{slot}", host_ip, node_ip, pod_cidr
        )
        try:
            _create(net)
        except BaseException:
            net.delete()
            raise
    return net


def _create(net: NodeNetwork) -> None:
    ip("link", "del", net.host_link, check=False)  # a leftover of a slot reclaimed above
    ip("netns", "add", net.netns)
    ip(
        "link",
        "add",
        net.host_link,
        "mtu",
        str(MTU),
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        net.netns,
    )
    ip("addr", "add", f"{net.host_ip}/30", "dev", net.host_link)
    ip("link", "set", net.host_link, "up")
    ip("-n", net.netns, "link", "set", "lo", "up")
    ip("-n", net.netns, "addr", "add", f"{net.node_ip}/30", "dev", "eth0")
    ip("-n", net.netns, "link", "set", "eth0", "mtu", str(MTU), "up")
    ip("route", "add", net.pod_cidr, "via", net.node_ip, "dev", net.host_link)
    # Inside the node only: it routes for its pods, and bridged pod-to-pod traffic passes
    # iptables, so a Service whose endpoint sits on the same bridge is un-NATed on the way back.
    net.run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    with contextlib.suppress(RuntimeError):  # br_netfilter not loaded: kube-proxy will warn
        net.run("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1")
