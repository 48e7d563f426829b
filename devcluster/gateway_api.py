"""Gateway API CRDs, read from the pinned Go module at run time (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

from devcluster import building, versions
from devcluster.cluster import ControlPlane


def crd_files() -> list[Path]:
    """Every CRD of the standard channel: Traefik watches GRPCRoutes, TLSRoutes and
    BackendTLSPolicies too, and waits for them before it programs anything."""
    root = building.module_dir("sigs.k8s.io/gateway-api", versions.GATEWAY_API)
    standard = root / "config" / "crd" / "standard"
    # The folder also holds a ValidatingAdmissionPolicy (`*_vap_*`), not a CRD.
    return sorted(
        p for p in standard.glob("gateway.networking.k8s.io_*.yaml") if "_vap_" not in p.name
    )


def install(cp: ControlPlane) -> None:
    """Apply the CRDs and wait (bounded) until the API server serves them."""
    files = crd_files()
    for crd in files:
        cp.kubectl("apply", "--server-side", "-f", str(crd))
    # `gateway.networking.k8s.io_httproutes.yaml` holds `httproutes.gateway.networking.k8s.io`.
    group, _, _ = files[0].name.partition("_")
    names = [f"crd/{path.stem.partition('_')[2]}.{group}" for path in files]
    cp.kubectl("wait", "--for=condition=Established", "--timeout=60s", *names)
