"""Gateway API CRDs, read from the pinned Go module at run time (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

from devcluster import building, versions


def crd_files() -> list[Path]:
    """Every CRD of the standard channel: Traefik watches GRPCRoutes, TLSRoutes and
    BackendTLSPolicies too, and waits for them before it programs anything."""
    root = building.module_dir("sigs.k8s.io/gateway-api", versions.GATEWAY_API)
    standard = root / "config" / "crd" / "standard"
    # The folder also holds a ValidatingAdmissionPolicy (`*_vap_*`), not a CRD.
    return sorted(
        p for p in standard.glob("gateway.networking.k8s.io_*.yaml") if "_vap_" not in p.name
    )
