"""`search`: find the few operations relevant to a task, with their TypeScript signatures.

When words fail there is a second way in, browsing: without a query, the API's tags one line
each; with a `tag`, that tag's operations one line each.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field, model_validator

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.openapi.index import OperationIndex
from mcp_server.openapi.loading import ApiSpec, Operation
from mcp_server.openapi.typescript import TypeRenderer, result_fields, signature
from mcp_server.tools.base import (
    CallContext,
    ToolDefinition,
    ToolReply,
    parse_arguments,
    schema_of,
)

UNTAGGED = "(untagged)"
RESULT_FIELDS_BUDGET = 1200  # characters of `returns` per match


class SearchArgs(BaseModel):
    query: str | None = Field(
        None, min_length=1, max_length=500, description="What you want to do, in words"
    )
    limit: int = Field(5, ge=1, le=20, description="How many operations to return")
    tag: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Browse: list this tag's operations (leave out query and tag to list tags)",
    )

    @model_validator(mode="after")
    def _one_way_in(self) -> SearchArgs:
        if self.query is not None and self.tag is not None:
            raise ValueError("give either query (to search) or tag (to browse), not both")
        return self


class OperationMatch(BaseModel):
    operationId: str
    method: str
    path: str
    summary: str
    signature: str = Field(description="TypeScript declaration of api.<operationId>")
    returns: str = Field("", description="the result's fields, one level deep, with their docs")


class SearchResult(BaseModel):
    results: list[OperationMatch] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="browse: `tag: N operations`")
    operations: list[str] = Field(
        default_factory=list, description="browse: `operationId: METHOD path: summary`"
    )
    hint: str


def _line(operation: Operation) -> str:
    summary = operation.summary.splitlines()[0] if operation.summary else ""
    return f"{operation.name}: {operation.method.upper()} {operation.path}" + (
        f": {summary}" if summary else ""
    )


class Search:
    def __init__(self, spec: ApiSpec, default_limit: int) -> None:
        self._index = OperationIndex(spec.operations, spec.document)
        renderer = TypeRenderer(spec)
        # Rendered once: search must stay within a few milliseconds.
        self._signatures = {op.name: signature(renderer, op) for op in spec.operations}
        self._returns = {
            op.name: result_fields(renderer, op, RESULT_FIELDS_BUDGET) for op in spec.operations
        }
        self._by_tag: dict[str, list[Operation]] = defaultdict(list)
        for operation in spec.operations:
            for tag in operation.tags or (UNTAGGED,):
                self._by_tag[tag].append(operation)
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
                    returns=self._returns[hit.operation.name],
                )
                for hit in hits
            ],
            hint="Call these as `await api.<operationId>(params)` inside the execute tool."
            if hits
            else "Nothing matched; try other words (a resource name and a verb), or browse: "
            "search without a query lists the tags.",
        )

    def tags(self) -> SearchResult:
        return SearchResult(
            tags=[f"{tag}: {len(ops)} operations" for tag, ops in sorted(self._by_tag.items())],
            hint="Pass one of these as `tag` to list its operations, or search with a query.",
        )

    def browse(self, tag: str) -> SearchResult:
        operations = self._by_tag.get(tag)
        if operations is None:
            folded = {name.casefold(): name for name in self._by_tag}
            if tag.casefold() not in folded:
                raise ToolError(
                    ErrorKind.USER,
                    f"no tag {tag!r}; search without query or tag lists them",
                )
            operations = self._by_tag[folded[tag.casefold()]]
        return SearchResult(
            operations=[_line(operation) for operation in operations],
            hint="Search for an operationId (query) to get its signature and result fields.",
        )

    async def handle(self, arguments: dict[str, Any], context: CallContext) -> ToolReply:
        args = parse_arguments(SearchArgs, arguments)
        if args.query is not None:
            return ToolReply(self.find(args.query, args.limit).model_dump())
        result = self.browse(args.tag) if args.tag is not None else self.tags()
        return ToolReply(result.model_dump())

    def tool(self) -> ToolDefinition:
        return ToolDefinition(
            name="search",
            description=(
                "Search the API for operations that do a task. Returns each match's TypeScript "
                "signature, docs and result fields; then write code for the execute tool "
                "calling them as `await api.<operationId>(params)`. When words fail, browse: "
                "without a query it lists the API's tags, with `tag` that tag's operations."
            ),
            input_schema=schema_of(SearchArgs),
            output_schema=schema_of(SearchResult),
            handler=self.handle,
        )
