"""Pods without a kubelet: real addresses in network namespaces, and nothing left behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from devcluster import pod_network
from devcluster.cluster import ControlPlane
from devcluster.pod_network import Pod, PodNetwork

PORT = 8000


def _whoami(pod: Pod) -> None:
    pod.run(
        "whoami",
        [sys.executable, "-m", "devcluster.whoami", f"--name={pod.name}", f"--host={pod.ip}"],
    )
    pod.wait_ready(PORT)


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30).stdout


def test_pods_answer_on_their_own_addresses_and_reach_each_other(pods: PodNetwork) -> None:
    a, b = pods.pod("a"), pods.pod("b")
    for pod in (a, b):
        _whoami(pod)
    assert a.ip != b.ip and pods.subnet is not None
    assert {a.ip, b.ip, pods.host_ip} <= {str(h) for h in pods.subnet.hosts()}
    # From inside pod a, pod b is reachable by its address (as pods on one node are).
    probe = f"import httpx; print(httpx.get('{b.url(PORT)}', timeout=5).text)"
    out = subprocess.run(
        ["ip", "netns", "exec", a.netns, sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.stdout.strip() == "b", out.stderr


def test_stop_removes_processes_namespaces_and_links(tmp_path: Path) -> None:
    network = PodNetwork(tmp_path).start()
    try:
        pod = network.pod("a")
        _whoami(pod)
        pid = pod.processes[0].popen.pid
        assert pod.netns in _ip("netns", "list")
    finally:
        network.stop()
    assert pod.netns not in _ip("netns", "list")
    assert network.bridge not in _ip("link", "show")
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert not (pod_network.STATE / f"{network.id}.json").exists()


def test_a_network_whose_owner_died_is_swept_by_the_next(tmp_path: Path) -> None:
    orphan = PodNetwork(tmp_path / "orphan").start()
    pod = orphan.pod("a")
    _whoami(pod)
    # What a SIGKILL of the owner leaves: its pid gone, its lock on the record released by the
    # kernel, the namespaces and the bridge still there.
    dead = subprocess.Popen(["true"])
    dead.wait()
    record = pod_network.STATE / f"{orphan.id}.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "pid": dead.pid}))
    assert orphan._held is not None
    orphan._held.close()
    with pod_network.running(tmp_path / "next") as alive:
        assert pod.netns not in _ip("netns", "list")
        assert orphan.bridge not in _ip("link", "show")
        assert not record.exists()
        assert (pod_network.STATE / f"{alive.id}.json").exists()
    pod.stop()


def test_api_server_refuses_loopback_endpoints_and_takes_pod_addresses(
    control_plane: ControlPlane, namespace: str, pods: PodNetwork
) -> None:
    pod = pods.pod("a")
    loopback = pod_network.endpoint_slice("web", [Pod("lo", "127.0.0.1", "-", pods.logs)], PORT)
    out = control_plane.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(loopback), check=False
    )
    assert "may not be in the loopback range" in out
    pods.publish(control_plane, namespace, "web", [pod], PORT)
    stored = json.loads(
        control_plane.kubectl("get", "endpointslice", "web-pods", "-n", namespace, "-o", "json")
    )
    assert stored["endpoints"][0]["addresses"] == [pod.ip]
    assert stored["metadata"]["labels"]["kubernetes.io/service-name"] == "web"
