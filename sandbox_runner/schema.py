"""The request body of POST /v1/executions (camelCase on the wire)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ExecutionRequest(BaseModel):
    # Unknown fields are ignored so that a newer mcp_server can talk to an older runner.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    code: str = Field(max_length=1_000_000)
    language: Literal["javascript", "typescript"] = "typescript"
    sdk: str = ""
    token: str = Field(default="", max_length=4096)
    timeout_seconds: float | None = Field(default=None, alias="timeoutSeconds", gt=0)
    max_api_calls: int | None = Field(default=None, alias="maxApiCalls", ge=0)


def describe(error: ValidationError) -> str:
    """One line naming every offending field by its wire name."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
