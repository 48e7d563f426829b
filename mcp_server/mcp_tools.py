"""The MCP server: lists the tools, dispatches calls, and records the metric contract."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.metrics import Metrics
from mcp_server.tools.base import CallContext, ToolDefinition, ToolReply

logger = logging.getLogger(__name__)


class ToolDispatcher:
    def __init__(
        self, tools: Sequence[ToolDefinition], metrics: Metrics, forward_headers: Sequence[str]
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._listing = types.ListToolsResult(
            tools=[
                types.Tool(
                    name=tool.name,
                    description=tool.description,
                    input_schema=tool.input_schema,
                    output_schema=tool.output_schema,
                )
                for tool in tools
            ]
        )
        self._metrics = metrics
        self._forward_headers = [header.lower() for header in forward_headers]

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return self._listing

    def _context(self, ctx: ServerRequestContext[Any]) -> CallContext:
        headers = getattr(ctx.request, "headers", None) or {}
        return CallContext(
            credentials={name: headers[name] for name in self._forward_headers if name in headers}
        )

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        started = time.perf_counter()
        tool = self._tools.get(params.name)
        label = params.name if tool is not None else "unknown"
        try:
            if tool is None:
                raise ToolError(ErrorKind.USER, f"no tool named {params.name!r}")
            reply = await tool.handler(dict(params.arguments or {}), self._context(ctx))
        except ToolError as error:
            reply = ToolReply({"error": error.as_dict()}, error)
        except Exception:
            # A bug of ours: log it (arguments and credentials stay out of the log).
            logger.exception("tool %s failed", label)
            ours = ToolError(ErrorKind.INFRA, "internal error in the MCP server; retry later")
            reply = ToolReply({"error": ours.as_dict()}, ours)
        kind = reply.error.kind if reply.error else None
        self._metrics.record_tool_call(label, time.perf_counter() - started, kind)
        return _result(reply)

    def server(self, name: str, instructions: str) -> Server[Any]:
        return Server(
            name,
            instructions=instructions,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
        )


def _result(reply: ToolReply) -> types.CallToolResult:
    if reply.error is not None:
        text = f"[{reply.error.kind.value}] {reply.error.message}"
        structured = reply.structured
        # The model reads the text first: put the logs of a failed execution next to the error.
        logs = structured.get("logs") if isinstance(structured, dict) else None
        if logs:
            text += "\nlogs:\n" + "\n".join(logs)
    else:
        text = json.dumps(reply.structured, ensure_ascii=False, default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=reply.structured,
        is_error=reply.error is not None,
    )
