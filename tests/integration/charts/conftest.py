"""Chart tests reuse the operator tests' CRD fixture; a ServiceAccount's own kubeconfig."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from devcluster.cluster import ControlPlane
from tests.integration.operator.conftest import rollout_crds

__all__ = ["kubectl_as", "rollout_crds", "service_account_kubeconfig"]


def service_account_kubeconfig(cp: ControlPlane, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as the ServiceAccount (a bound token), not as admin."""
    token = cp.kubectl("create", "token", account, "-n", namespace, "--duration=1h").strip()
    admin = json.loads(cp.kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    cluster = admin["clusters"][0]["cluster"]
    ca = {k: v for k, v in cluster.items() if k.startswith("certificate-authority")}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": cluster["server"], **ca}}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": account}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def kubectl_as(cp: ControlPlane, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cp.bin_dir / "kubectl"), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
