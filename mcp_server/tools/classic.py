"""v1 classic mode: every operation of the spec is its own tool."""

from __future__ import annotations

from mcp_server.backend import Backend
from mcp_server.tools.base import ToolDefinition
from mcp_server.tools.natives import operation_tool


def classic_tools(backend: Backend) -> list[ToolDefinition]:
    return [operation_tool(backend, operation, "tool") for operation in backend.spec.operations]
