"""An operation's arguments: their JSON Schema, checked before any request is built.

One schema serves v1's tool listing and every call (v1 tools, v2 natives, the api-proxy), so a
model's wrong arguments are a `user` error naming the problem, in both versions, and never reach
the backend (where a string body could crash it and count as infra).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, best_match

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.openapi.loading import ApiSpec, Operation, inline_refs


def input_schema(spec: ApiSpec, operation: Operation) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in operation.parameters:
        schema = inline_refs(spec.document, param.schema) or {}
        if param.description:
            schema = {**schema, "description": param.description}
        properties.setdefault(param.name, schema)
        if param.required:
            required.append(param.name)
    if operation.body_schema is not None and "body" not in properties:
        properties["body"] = inline_refs(spec.document, operation.body_schema)
        if operation.body_required:
            required.append("body")
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(set(required)),
        "additionalProperties": False,
    }


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema's `null` type (3.1 already speaks it)."""
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _json_schema(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True and isinstance(schema.get("type"), str):
        converted["type"] = [schema["type"], "null"]
    return converted


def _where(error: ValidationError) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.path)


class ArgumentCheck:
    """Validators compiled once per operation; a schema jsonschema cannot read is not checked
    (the spec's own mistake must not block calls the backend would accept)."""

    def __init__(self, spec: ApiSpec) -> None:
        self._spec = spec
        self._validators: dict[str, Draft202012Validator | None] = {}

    def _validator(self, operation: Operation) -> Draft202012Validator | None:
        if operation.name not in self._validators:
            schema = _json_schema(input_schema(self._spec, operation))
            try:
                Draft202012Validator.check_schema(schema)
                validator: Draft202012Validator | None = Draft202012Validator(schema)
            except SchemaError:
                validator = None
            self._validators[operation.name] = validator
        return self._validators[operation.name]

    def check(self, operation: Operation, params: Mapping[str, Any]) -> None:
        """Raise ToolError(user) naming the first problem of `params`."""
        known = {param.name for param in operation.parameters}
        allowed = known | ({"body"} if operation.body_schema is not None else set())
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise ToolError(
                ErrorKind.USER,
                f"{operation.name} has no parameter {', '.join(unknown)}; "
                f"it takes: {', '.join(sorted(allowed)) or 'nothing'}",
                operationId=operation.name,
            )
        missing = [p.name for p in operation.parameters if p.required and p.name not in params]
        if operation.body_required and "body" not in params:
            missing.append("body")
        if missing:
            raise ToolError(
                ErrorKind.USER,
                f"{operation.name} needs {', '.join(missing)}",
                operationId=operation.name,
            )
        validator = self._validator(operation)
        if validator is None:
            return
        error = best_match(validator.iter_errors(dict(params)))
        if error is not None:
            raise ToolError(
                ErrorKind.USER,
                f"invalid arguments for {operation.name}: "
                f"{_where(error).lstrip('.') or 'arguments'}: {error.message[:300]}",
                operationId=operation.name,
            )
