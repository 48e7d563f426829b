"""What every tool is: a name, schemas, and an async handler that may raise ToolError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mcp_server.errors import ErrorKind, ToolError


@dataclass(frozen=True)
class CallContext:
    """Per-call facts taken from the MCP request; credentials never leave the server."""

    credentials: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class ToolReply:
    structured: Any
    error: ToolError | None = None  # set when the call failed but still has content to show


ToolHandler = Callable[[dict[str, Any], CallContext], Awaitable[ToolReply]]


@dataclass(frozen=True)
class ToolDefinition:
    name: str
    description: str
    input_schema: dict[str, Any]
    handler: ToolHandler
    output_schema: dict[str, Any] | None = None


ArgsT = TypeVar("ArgsT", bound=BaseModel)


def parse_arguments(model: type[ArgsT], arguments: dict[str, Any]) -> ArgsT:
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or 'arguments'}: {item['msg']}"
            for item in exc.errors()
        )
        raise ToolError(ErrorKind.USER, f"invalid arguments: {problems}") from exc


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True)
