"""The OpenAPI specs the tests and benchmarks serve: the sample backend's, and copies of three
real ones (tests/data/specs/SOURCES.md says where each comes from)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mcp_server.openapi.loading import Operation, load_spec

REPO = Path(__file__).resolve().parent.parent
REAL_SPECS = REPO / "tests" / "data" / "specs"
REAL_SPEC_FILES = ["coolify-openapi.yaml", "koyeb-openapi.yaml", "dokploy-openapi.json"]
SAMPLE_SPEC = REPO / "mcp_server" / "sample_backend" / "openapi.json"


def thousand_operations() -> list[Operation]:
    """The three real specs plus renamed copies: 1000 realistic operations."""
    base = [op for name in REAL_SPEC_FILES for op in load_spec(REAL_SPECS / name).operations]
    base += load_spec(SAMPLE_SPEC).operations
    copies = [replace(op, name=f"{op.name}V{n}") for n in range(2) for op in base]
    return (base + copies)[:1000]
