"""`search`: find the few operations relevant to a task, with their TypeScript signatures."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mcp_server.openapi.index import OperationIndex
from mcp_server.openapi.loading import ApiSpec
from mcp_server.openapi.typescript import TypeRenderer, signature
from mcp_server.tools.base import (
    CallContext,
    ToolDefinition,
    ToolReply,
    parse_arguments,
    schema_of,
)


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="What you want to do, in words")
    limit: int = Field(5, ge=1, le=20, description="How many operations to return")


class OperationMatch(BaseModel):
    operationId: str
    method: str
    path: str
    summary: str
    signature: str = Field(description="TypeScript declaration of api.<operationId>")


class SearchResult(BaseModel):
    results: list[OperationMatch]
    hint: str


class Search:
    def __init__(self, spec: ApiSpec, default_limit: int) -> None:
        self._index = OperationIndex(spec.operations)
        renderer = TypeRenderer(spec)
        # Rendered once: search must stay within a few milliseconds.
        self._signatures = {op.name: signature(renderer, op) for op in spec.operations}
        self._default_limit = default_limit

    def find(self, query: str, limit: int | None = None) -> SearchResult:
        hits = self._index.search(query, limit or self._default_limit)
        return SearchResult(
            results=[
                OperationMatch(
                    operationId=hit.operation.name,
                    method=hit.operation.method.upper(),
                    path=hit.operation.path,
                    summary=hit.operation.summary,
                    signature=self._signatures[hit.operation.name],
                )
                for hit in hits
            ],
            hint="Call these as `await api.<operationId>(params)` inside the execute tool."
            if hits
            else "Nothing matched; try other words (a resource name and a verb).",
        )

    async def handle(self, arguments: dict[str, Any], context: CallContext) -> ToolReply:
        args = parse_arguments(SearchArgs, arguments)
        return ToolReply(self.find(args.query, args.limit).model_dump())

    def tool(self) -> ToolDefinition:
        return ToolDefinition(
            name="search",
            description=(
                "Search the API for operations that do a task. Returns each match's TypeScript "
                "signature and docs; then write code for the execute tool calling them as "
                "`await api.<operationId>(params)`."
            ),
            input_schema=schema_of(SearchArgs),
            output_schema=schema_of(SearchResult),
            handler=self.handle,
        )
