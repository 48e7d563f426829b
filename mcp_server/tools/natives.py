"""Operations exposed as direct tools (no sandbox): the configured natives, and all of v1."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcp_server.arguments import input_schema
from mcp_server.backend import Backend
from mcp_server.openapi.loading import Operation, SpecError
from mcp_server.tools.base import CallContext, ToolDefinition, ToolReply


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
