"""The charts' copies of files that have a single source elsewhere stay byte-identical."""

from __future__ import annotations

from pathlib import Path

from tests.charts import MCP_CHART, OPERATOR_CHART, REPO

COPIES = {
    REPO / "mcp_server" / "sample_backend" / "openapi.json": MCP_CHART / "files" / "openapi.json",
    **{crd: OPERATOR_CHART / "crds" / crd.name for crd in (REPO / "crds").glob("*.yaml")},
}


def test_chart_crds_are_exactly_the_repository_crds() -> None:
    names = {p.name for p in (OPERATOR_CHART / "crds").iterdir()}
    assert names == {p.name for p in (REPO / "crds").glob("*.yaml")}, "run `make chart-files`"


def test_copies_are_byte_identical() -> None:
    stale = [str(copy.relative_to(REPO)) for src, copy in COPIES.items() if not _same(src, copy)]
    assert not stale, f"stale copies {stale}: run `make chart-files`"


def _same(source: Path, copy: Path) -> bool:
    return copy.exists() and copy.read_bytes() == source.read_bytes()
