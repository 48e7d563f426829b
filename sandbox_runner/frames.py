"""The frames an isolate writes, validated: anything else means the code broke its own runtime.

The shim writes frames, but the code runs in the same process and may have tampered with it, so
a frame is data to check, not to trust: one that does not parse, has an unknown shape or a kind
the shim never reports ends the run as the code's (`user`) error, never as infra, never as a
runner crash. Strings are made encodable (a lone surrogate, legal in JavaScript, becomes U+FFFD)
so no answer can fail to serialise.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator


class FrameError(ValueError):
    """A line bearing the nonce that is not a frame the shim writes."""


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LogFrame(_Frame):
    t: Literal["log"]
    line: str


class WaitFrame(_Frame):
    """The code sleeps this long (sleep()): idle on purpose, not stuck."""

    t: Literal["wait"]
    ms: float = Field(ge=0, le=86_400_000)


class ReportedError(_Frame):
    kind: Literal["user", "api", "infra"]  # "timeout" is the runner's to say
    name: str = Field(max_length=200)
    message: str = Field(max_length=8000)
    status: int | None = None
    operationId: str | None = Field(None, max_length=500)


class ResultFrame(_Frame):
    t: Literal["result"]
    ok: bool
    result: Any = None
    error: ReportedError | None = None
    truncated: bool = False

    @model_validator(mode="after")
    def _error_iff_failed(self) -> ResultFrame:
        if self.ok == (self.error is not None):
            raise ValueError("a result frame has an error exactly when it is not ok")
        return self


Frame = Annotated[LogFrame | WaitFrame | ResultFrame, Field(discriminator="t")]
_FRAME: TypeAdapter[LogFrame | WaitFrame | ResultFrame] = TypeAdapter(Frame)


def encodable(value: Any) -> Any:
    """`value` with every string valid UTF-8 (lone surrogates replaced)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, list):
        return [encodable(item) for item in value]
    if isinstance(value, dict):
        return {encodable(key): encodable(item) for key, item in value.items()}
    return value


def parse_frame(raw: bytes) -> LogFrame | WaitFrame | ResultFrame:
    try:
        return _FRAME.validate_python(encodable(json.loads(raw)))
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise FrameError(_summary(error)) from error


def _summary(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "frame"
        return f"{where}: {first['msg']}"
    return type(error).__name__
