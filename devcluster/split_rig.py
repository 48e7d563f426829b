"""A split rig: whoami pods behind selector-less Services, an HTTPRoute on the local Gateway."""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import kubernetes
import yaml

from devcluster.cluster import ControlPlane
from devcluster.gateway import Gateway
from devcluster.pod_network import Pod, PodNetwork, service
from devcluster.processes import wait_until

PORT = 8000
ROUTE = "mcp"


@dataclass
class Rig:
    cp: ControlPlane
    namespace: str
    gateway: Gateway
    pods: dict[str, Pod]  # Service name -> its one pod (the pod's name is the Service's)
    _api: Any = field(default=None, repr=False)

    def apply_route(self, rules: list[dict[str, Any]]) -> None:
        self.apply(route(self.gateway, rules))

    def write_rules(self, rules: list[dict[str, Any]]) -> float:
        """Write the route's rules with one API call; returns when the API server acknowledged
        it (time.monotonic()), the moment a route change is measured from."""
        if self._api is None:
            client = kubernetes.config.new_client_from_config(config_file=str(self.cp.kubeconfig))
            self._api = kubernetes.client.CustomObjectsApi(client)
        self._api.patch_namespaced_custom_object(
            "gateway.networking.k8s.io",
            "v1",
            self.namespace,
            "httproutes",
            ROUTE,
            {"spec": {"rules": rules}},
        )
        return time.monotonic()

    def first_answer_from(self, pod: str, timeout: float) -> float:
        """Send requests back to back until `pod` answers one; when it did (time.monotonic())."""
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.gateway.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if client.get("/").text == pod:
                    return time.monotonic()
        raise TimeoutError(f"no request through the Gateway reached {pod} within {timeout:.0f}s")

    def apply(self, body: dict[str, Any]) -> None:
        self.cp.kubectl("apply", "-n", self.namespace, "-f", "-", input=yaml.safe_dump(body))

    def answers(self, n: int, headers: dict[str, str] | None = None) -> Counter[str]:
        """Which pod answered each of `n` sequential requests through the Gateway."""
        seen: Counter[str] = Counter()
        with httpx.Client(base_url=self.gateway.url, headers=headers, timeout=10) as client:
            for _ in range(n):
                answer = client.get("/")
                seen[answer.text if answer.status_code == 200 else str(answer.status_code)] += 1
        return seen

    def wait_applied(self, weights: list[dict[str, int]]) -> None:
        """Until Traefik runs exactly these per-rule weights for the route (its own API)."""
        applied: list[Any] = []

        def done() -> bool:
            applied[:] = self.gateway.applied_weights(self.namespace, ROUTE)
            return applied == weights

        try:
            wait_until(f"Traefik applying the weights {weights} of HTTPRoute {ROUTE}", done, 30)
        except TimeoutError as error:
            raise TimeoutError(f"{error}; applied: {applied}") from None


def route(gateway: Gateway, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": ROUTE},
        "spec": {"parentRefs": [gateway.parent_ref], "rules": rules},
    }


def refs(**weights: int) -> list[dict[str, Any]]:
    """backendRefs to the rig's Services, `mcp_v1=95` → Service mcp-v1 at weight 95."""
    return [
        {"name": name.replace("_", "-"), "port": 80, "weight": weight}
        for name, weight in weights.items()
    ]


def start_rig(
    cp: ControlPlane, namespace: str, gateway: Gateway, network: PodNetwork, services: list[str]
) -> Rig:
    rig = Rig(cp, namespace, gateway, {})
    for name in services:
        pod = network.pod(name)
        pod.run(
            "whoami",
            [
                sys.executable,
                "-m",
                "devcluster.whoami",
                f"--name={name}",
                f"--host={pod.ip}",
                f"--port={PORT}",
            ],
        )
        rig.pods[name] = pod
    for name, pod in rig.pods.items():
        pod.wait_ready(PORT)
        rig.apply(service(name, target_port=PORT))
        network.publish(cp, namespace, name, [pod], PORT)
    return rig
