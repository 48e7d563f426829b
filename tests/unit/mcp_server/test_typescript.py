from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devcluster.specs import REAL_SPEC_FILES, REAL_SPECS, REPO, SAMPLE_SPEC
from mcp_server.openapi.loading import ApiSpec, Operation, Parameter, load_spec
from mcp_server.openapi.typescript import TypeRenderer, declarations, runtime_client, signature

TSC = REPO / "node_modules" / ".bin" / "tsc"


def _spec(schemas: dict[str, Any]) -> ApiSpec:
    document = {"paths": {}, "components": {"schemas": schemas}}
    return ApiSpec("t", "", (), schemas, document)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, "string"),
        ({"type": "integer", "nullable": True}, "number | null"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"enum": ["a", "b"]}, '"a" | "b"'),
        ({"type": "array", "items": {"$ref": "#/components/schemas/pet.Cat"}}, "Array<PetCat>"),
        ({"oneOf": [{"type": "string"}, {"type": "number"}]}, "(string) | (number)"),
        (
            {
                "allOf": [
                    {"$ref": "#/components/schemas/pet.Cat"},
                    {"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"]},
                ]
            },
            "(PetCat) & ({\n  x: boolean;\n})",
        ),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "Record<string, string>"),
        ({"type": "object", "properties": {"a-b": {"type": "string"}}}, '{\n  "a-b"?: string;\n}'),
        ({}, "unknown"),
    ],
)
def test_type_rendering(schema: dict[str, Any], expected: str) -> None:
    renderer = TypeRenderer(_spec({"pet.Cat": {"type": "object"}}))
    assert renderer.render(schema) == expected


def test_signature_has_docs_params_and_result() -> None:
    operation = Operation(
        name="getCat",
        operation_id="get-cat",
        method="get",
        path="/cats/{id}",
        summary="Get a cat",
        description="By id.",
        parameters=(Parameter("id", "path", True, {"type": "string"}, "Cat id"),),
        response_schema={"$ref": "#/components/schemas/pet.Cat"},
    )
    text = signature(TypeRenderer(_spec({"pet.Cat": {"type": "object"}})), operation)
    assert text.startswith("/**\n * Get a cat\n *\n * By id.\n * @see GET /cats/{id}\n */\n")
    assert (
        "getCat(params: {\n  /**\n   * Cat id\n   */\n  id: string;\n}): Promise<PetCat>;" in text
    )


def test_output_is_deterministic() -> None:
    first = load_spec(REAL_SPECS / "koyeb-openapi.yaml")
    second = load_spec(REAL_SPECS / "koyeb-openapi.yaml")
    assert declarations(first) == declarations(second)
    assert runtime_client(first) == runtime_client(second)


def test_runtime_client_maps_every_operation() -> None:
    spec = load_spec(SAMPLE_SPEC)
    source = runtime_client(spec)
    assert "export function createClient(call)" in source
    names = json.loads(source.split("const OPERATIONS = ", 1)[1].split(";\n", 1)[0])
    assert names == sorted(op.name for op in spec.operations)


def _typecheck(folder: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    for name, text in files.items():
        (folder / name).write_text(text)
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "es2022",
            "module": "esnext",
            "allowJs": True,
            "checkJs": False,
        },
        "files": sorted(files),
    }
    (folder / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run(
        [str(TSC), "-p", str(folder)], capture_output=True, text=True, timeout=300
    )


needs_tsc = pytest.mark.skipif(
    not TSC.exists() or shutil.which("node") is None,
    reason="tsc not installed: run `npm install` in the repo root",
)


@needs_tsc
@pytest.mark.parametrize("name", [*REAL_SPEC_FILES, "sample"])
def test_declarations_pass_tsc(name: str, tmp_path: Path) -> None:
    spec = load_spec(SAMPLE_SPEC if name == "sample" else REAL_SPECS / name)
    result = _typecheck(tmp_path, {"api.d.ts": declarations(spec)})
    assert result.returncode == 0, result.stdout[-4000:]


@needs_tsc
def test_model_code_typechecks_against_the_sample_sdk(tmp_path: Path) -> None:
    usage = """
import { api, ApiError } from "./api";
async function main(): Promise<string | null> {
  const project = await api.createProject({ body: { name: "x" } });
  try {
    const d = await api.createDeployment({ projectId: project.id, body: { gitUrl: "https://g" } });
    return d.url ?? null;
  } catch (e) {
    if (e instanceof ApiError) return `${e.status} ${e.operationId}`;
    throw e;
  }
}
main();
"""
    broken = usage.replace('gitUrl: "https://g"', "gitUrl: 42")
    spec = load_spec(SAMPLE_SPEC)
    ok = _typecheck(tmp_path, {"api.d.ts": declarations(spec), "main.ts": usage})
    assert ok.returncode == 0, ok.stdout
    bad = _typecheck(tmp_path, {"api.d.ts": declarations(spec), "main.ts": broken})
    assert bad.returncode != 0 and "main.ts(6," in bad.stdout
