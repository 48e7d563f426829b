"""Error kinds of the metric contract and the error a tool reports to the model."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorKind(StrEnum):
    INFRA = "infra"  # our side: runner, proxy, backend 5xx/unreachable, a bug
    TIMEOUT = "timeout"  # the execution hit its wall-timeout
    API = "api"  # the backend answered 4xx
    USER = "user"  # the model's code or arguments are wrong, or it hit a limit


class ToolError(Exception):
    """A failed tool call: `message` is written for the model, so it says what to do next."""

    def __init__(self, kind: ErrorKind, message: str, **details: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "message": self.message, **self.details}
