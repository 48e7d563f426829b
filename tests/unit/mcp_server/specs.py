"""Paths of the specs used as test data (the real ones are copies, tests/data/specs/SOURCES.md)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
REAL_SPECS = REPO / "tests" / "data" / "specs"
REAL_SPEC_FILES = ["coolify-openapi.yaml", "koyeb-openapi.yaml", "dokploy-openapi.json"]
SAMPLE_SPEC = REPO / "mcp_server" / "sample_backend" / "openapi.json"
