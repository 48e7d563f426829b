"""Arguments checked before a request exists: schema, one-segment path parameters, sizes."""

from __future__ import annotations

from typing import Any

import pytest

from devcluster.specs import REAL_SPECS, SAMPLE_SPEC
from mcp_server.arguments import ArgumentCheck, input_schema
from mcp_server.backend import MAX_PARAMETER_CHARS, _request_parts
from mcp_server.errors import ErrorKind, ToolError
from mcp_server.openapi.loading import load_spec

SPEC = load_spec(SAMPLE_SPEC)
CHECK = ArgumentCheck(SPEC)


def _refusal(name: str, params: dict[str, Any]) -> str:
    operation = SPEC.operation(name)
    assert operation is not None
    with pytest.raises(ToolError) as refused:
        CHECK.check(operation, params)
        _request_parts(operation, params)
    assert refused.value.kind is ErrorKind.USER
    return refused.value.message


@pytest.mark.parametrize(
    ("name", "params", "said"),
    [
        ("createProject", {"name": "x"}, "createProject has no parameter name; it takes: body"),
        ("getProject", {}, "getProject needs projectId"),
        ("createProject", {"body": "a string"}, "body: 'a string' is not of type 'object'"),
        ("listProjects", {"limit": "ten"}, "limit: 'ten' is not of type 'integer'"),
        ("getProject", {"projectId": "."}, "not one path segment"),
        ("getProject", {"projectId": ".."}, "not one path segment"),
        ("getProject", {"projectId": ""}, "not one path segment"),
        ("getProject", {"projectId": "prj_1/deployments"}, "not one path segment"),
        ("getProject", {"projectId": "x" * 70_000}, f"at most {MAX_PARAMETER_CHARS}"),
    ],
)
def test_wrong_arguments_are_user_errors_naming_the_problem(
    name: str, params: dict[str, Any], said: str
) -> None:
    assert said in _refusal(name, params)


def test_path_parameters_are_rfc6570_simple_expansion() -> None:
    operation = SPEC.operation("getEnvVar")
    assert operation is not None
    path, _, _, _ = _request_parts(operation, {"projectId": "a b?#%", "key": "K~_-.9é"})
    assert path == "/projects/a%20b%3F%23%25/env/K~_-.9%C3%A9"


def test_v1_input_schemas_refuse_unknown_arguments() -> None:
    operation = SPEC.operation("getProject")
    assert operation is not None
    assert input_schema(SPEC, operation)["additionalProperties"] is False


def test_nullable_openapi_30_fields_accept_null() -> None:
    """Every operation of the real specs compiles, and a nullable field takes null."""
    spec = load_spec(REAL_SPECS / "coolify-openapi.yaml")
    check = ArgumentCheck(spec)
    nullable = [
        operation
        for operation in spec.operations
        for param in operation.parameters
        if param.schema.get("nullable") is True
    ]
    for operation in spec.operations:
        assert check._validator(operation) is not None, operation.name
    for operation in nullable[:5]:
        param = next(p for p in operation.parameters if p.schema.get("nullable") is True)
        required = {p.name: "x" for p in operation.parameters if p.required}
        check.check(operation, {**required, param.name: None})
