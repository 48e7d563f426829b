"""Gateway API CRDs, read from the pinned Go module at run time (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

from devcluster import building, versions

STANDARD_CRDS = (
    "gateway.networking.k8s.io_gatewayclasses.yaml",
    "gateway.networking.k8s.io_gateways.yaml",
    "gateway.networking.k8s.io_httproutes.yaml",
    "gateway.networking.k8s.io_referencegrants.yaml",
)


def crd_files() -> list[Path]:
    root = building.module_dir("sigs.k8s.io/gateway-api", versions.GATEWAY_API)
    return [root / "config" / "crd" / "standard" / name for name in STANDARD_CRDS]
