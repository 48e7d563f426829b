"""Operations exposed as direct tools (no sandbox): the configured natives, and all of v1."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp_server.backend import Backend
from mcp_server.openapi.loading import ApiSpec, Operation, SpecError, inline_refs
from mcp_server.tools.base import CallContext, ToolDefinition, ToolReply


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
    return {"type": "object", "properties": properties, "required": sorted(set(required))}


def operation_tool(backend: Backend, operation: Operation, via: str) -> ToolDefinition:
    async def handle(arguments: dict[str, Any], context: CallContext) -> ToolReply:
        body = await backend.call_or_raise(operation, arguments, context.credentials, via)
        # Structured content is an object on older protocol versions: wrap the body.
        return ToolReply({"status": "ok", "body": body})

    description = operation.doc or f"{operation.method.upper()} {operation.path}"
    return ToolDefinition(
        name=operation.name,
        description=f"{description}\n({operation.method.upper()} {operation.path})",
        input_schema=input_schema(backend.spec, operation),
        handler=handle,
    )


def native_tools(backend: Backend, names: Iterable[str]) -> list[ToolDefinition]:
    names = list(names)
    missing = [name for name in names if backend.spec.operation(name) is None]
    if missing:
        raise SpecError(f"configured natives are not operations of the spec: {', '.join(missing)}")
    return [operation_tool(backend, backend.operation(name), "native") for name in names]
