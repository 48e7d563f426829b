from __future__ import annotations

import json
from pathlib import Path

import pytest

from devcluster.specs import REAL_SPEC_FILES, REAL_SPECS, SAMPLE_SPEC
from mcp_server.openapi.gate import main
from mcp_server.openapi.loading import find_problems, to_identifier


@pytest.mark.parametrize("name", REAL_SPEC_FILES)
def test_real_specs_pass(name: str) -> None:
    assert main([str(REAL_SPECS / name)]) == 0


def test_sample_spec_passes() -> None:
    assert main([str(SAMPLE_SPEC)]) == 0


def test_every_bad_operation_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {
        "openapi": "3.0.3",
        "paths": {
            "/a": {"get": {"responses": {}}, "post": {"operationId": "makeA"}},
            "/b": {"post": {"operationId": "make-a"}, "get": {"operationId": "123go"}},
            "/c": {"delete": {"operationId": "  "}},
        },
    }
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps(document))
    assert main([str(spec)]) == 1
    err = capsys.readouterr().err
    assert "GET /a: missing operationId" in err
    assert "POST /b: operationId 'make-a' duplicates POST /a" in err
    assert "GET /b: operationId '123go' cannot become an identifier" in err
    assert "DELETE /c: missing operationId" in err
    assert len(find_problems(document)) == 4


def test_unreadable_spec_fails(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("just: text\n")
    assert main([str(spec)]) == 1


@pytest.mark.parametrize(
    ("operation_id", "identifier"),
    [
        ("listProjects", "listProjects"),
        ("list-applications", "listApplications"),
        ("docker-getConfig", "dockerGetConfig"),
        ("admin.setup_monitoring", "adminSetup_monitoring"),
        ("9lives", None),
        ("--", None),
    ],
)
def test_to_identifier(operation_id: str, identifier: str | None) -> None:
    assert to_identifier(operation_id) == identifier
