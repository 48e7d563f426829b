"""Fixtures for the real local stack: control plane, Gateway API CRDs, Prometheus, and the
Gateway (Traefik) with pods in network namespaces.

Tests that use them are marked `cluster` / `prometheus` / `gateway` automatically, so
`pytest -m "not cluster and not prometheus"` runs the unit tests with no servers at all.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devcluster import cluster, gateway, gateway_api, pod_network, prometheus, redis
from devcluster.processes import stopping

REPO = Path(__file__).resolve().parent.parent
_LOG_DIRS: list[Path] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"control_plane", "namespace", "gateway_crds", "local_gateway"}:
            item.add_marker(pytest.mark.cluster)
        if names & {"prometheus_server"}:
            item.add_marker(pytest.mark.prometheus)
        if names & {"local_gateway", "pods"}:
            item.add_marker(pytest.mark.gateway)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Logs stay on disk (pytest keeps the last basetemp dirs); say where when something failed.
    if terminalreporter.stats.get("failed") or terminalreporter.stats.get("error"):
        for folder in _LOG_DIRS:
            terminalreporter.write_line(f"server logs kept in {folder}")


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.ControlPlane]:
    workdir = tmp_path_factory.mktemp("cluster")
    if os.environ.get("CODEMODE_EXISTING_CLUSTER") == "1":
        yield cluster.ControlPlane.existing(Path(os.environ["KUBECONFIG"]), workdir)
        return
    with stopping(cluster.start(workdir)) as cp:
        _LOG_DIRS.append(workdir / "logs")
        yield cp


@pytest.fixture(scope="session")
def gateway_crds(control_plane: cluster.ControlPlane) -> None:
    gateway_api.install(control_plane)


@pytest.fixture
def namespace(control_plane: cluster.ControlPlane) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (without waiting for finalizers)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", name)
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prometheus.Prometheus]:
    workdir = tmp_path_factory.mktemp("prometheus")
    with stopping(prometheus.start(workdir)) as prom:
        _LOG_DIRS.append(workdir / "logs")
        yield prom


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    """Debian's redis-server on a free loopback port: the job store of the v2 replicas."""
    with stopping(redis.start(tmp_path_factory.mktemp("redis"))) as server:
        yield server


@pytest.fixture
def pods(tmp_path: Path) -> Iterator[pod_network.PodNetwork]:
    """A pod network of the test's own: `pods.pod(name)`, `pod.run(...)`, `pods.publish(...)`."""
    with pod_network.running(tmp_path / "pods") as network:
        _LOG_DIRS.append(network.logs)
        yield network


@pytest.fixture
def local_gateway(
    control_plane: cluster.ControlPlane, gateway_crds: None, namespace: str, tmp_path: Path
) -> Iterator[gateway.Gateway]:
    """Traefik with a Programmed Gateway `gateway` in the test's namespace (routes attach with
    `parentRefs: [local_gateway.parent_ref]`); traffic enters at `local_gateway.url`."""
    with gateway.start(control_plane, tmp_path / "gateway", namespace) as gw:
        _LOG_DIRS.append(tmp_path / "gateway" / "logs")
        yield gw
