from __future__ import annotations

from dataclasses import replace

from mcp_server.openapi.index import OperationIndex, tokenize
from mcp_server.openapi.loading import Operation, load_spec
from tests.unit.mcp_server.specs import REAL_SPEC_FILES, REAL_SPECS, SAMPLE_SPEC


def test_tokenize_splits_camel_case_and_stems() -> None:
    assert tokenize("listEnvVars /projects/{projectId}") == [
        "list",
        "env",
        "var",
        "project",
        "project",
        "id",
    ]
    assert tokenize("Deployments deploying deployed") == ["deploy", "deploy", "deploy"]


def test_ranking_prefers_the_operation_name_and_summary() -> None:
    index = OperationIndex(load_spec(SAMPLE_SPEC).operations)
    assert index.search("remove a custom domain", 1)[0].operation.name == "deleteDomain"
    assert index.search("zzz qqq") == []


def thousand_operations() -> list[Operation]:
    """The three real specs plus renamed copies: 1000 realistic operations."""
    base = [op for name in REAL_SPEC_FILES for op in load_spec(REAL_SPECS / name).operations]
    base += load_spec(SAMPLE_SPEC).operations
    copies = [replace(op, name=f"{op.name}V{n}") for n in range(2) for op in base]
    return (base + copies)[:1000]


def test_search_over_1000_operations_still_ranks_the_right_one_first() -> None:
    # Latency over the same 1000 operations is measured by benchmarks/bench_mcp.py, not here.
    index = OperationIndex(thousand_operations())
    top = index.search("remove a custom domain", 5)
    assert top and top[0].operation.name.startswith("deleteDomain")
