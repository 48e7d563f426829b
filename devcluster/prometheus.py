"""A real Prometheus server (Debian's package) with a scrape config given at run time."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from devcluster.processes import ManagedProcess, free_port, serving, spawn

BINARY_CANDIDATES = ("/usr/bin/prometheus", "prometheus")


def _binary() -> str:
    for candidate in BINARY_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise FileNotFoundError("prometheus not found: run `make deps` (installs Debian's prometheus)")


def static_job(
    name: str, targets: list[str], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A scrape job for loopback targets such as `127.0.0.1:8080`."""
    return {"job_name": name, "static_configs": [{"targets": targets, "labels": labels or {}}]}


def pod_discovery_job(name: str, kubeconfig: Path) -> dict[str, Any]:
    """Pods found through the API server (`kubernetes_sd_configs`, role pod), kept when they ask
    for it with the `prometheus.io/scrape|port|path` annotations, labelled with their namespace
    and pod: the scrape config of a cluster without the Prometheus Operator."""
    annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
    return {
        "job_name": name,
        "kubernetes_sd_configs": [{"role": "pod", "kubeconfig_file": str(kubeconfig)}],
        "relabel_configs": [
            {"source_labels": [f"{annotation}scrape"], "action": "keep", "regex": "true"},
            # One target per pod, not one per container port.
            {
                "source_labels": ["__meta_kubernetes_pod_phase"],
                "action": "keep",
                "regex": "Running",
            },
            {
                "source_labels": [f"{annotation}path"],
                "regex": "(.+)",
                "target_label": "__metrics_path__",
            },
            {
                "source_labels": ["__meta_kubernetes_pod_ip", f"{annotation}port"],
                "regex": "(.+);(\\d+)",
                "replacement": "$1:$2",
                "target_label": "__address__",
            },
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        ],
    }


@dataclass
class Prometheus:
    workdir: Path
    url: str
    process: ManagedProcess
    scrape_interval: str

    @property
    def config_path(self) -> Path:
        return self.workdir / "prometheus.yml"

    def configure(self, jobs: list[dict[str, Any]]) -> None:
        """Replace the scrape jobs and have the running server reload them."""
        _write_config(self.config_path, jobs, self.scrape_interval)
        httpx.post(f"{self.url}/-/reload", timeout=10).raise_for_status()

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        answer.raise_for_status()
        return list(answer.json()["data"]["result"])

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()


def _write_config(path: Path, jobs: list[dict[str, Any]], interval: str) -> None:
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": jobs,
    }
    path.write_text(yaml.safe_dump(config))


def start(
    workdir: Path,
    jobs: list[dict[str, Any]] | None = None,
    scrape_interval: str = "1s",
    port: int | None = None,
    host: str = "127.0.0.1",
    binary: Path | None = None,
) -> Prometheus:
    """Start Prometheus on a free port of `host` (or `port`, to restart at the same address).

    `binary`: another build than Debian's (building.prometheus_binary() has kubernetes_sd).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    _write_config(config, jobs or [], scrape_interval)
    port = port or free_port()
    process = spawn(
        "prometheus",
        [
            str(binary) if binary else _binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address={host}:{port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ],
        workdir / "logs",
    )
    url = f"http://{host}:{port}"
    prom = Prometheus(workdir, url, process, scrape_interval)
    serving(process, "prometheus", f"{url}/-/ready")
    return prom
