"""The api-proxy: the sandbox's only way out, per docs/contracts.md section 3.

Each execution gets a capability token bound to the end user's credentials, a call cap and a
deadline. The sandbox holds only the token; credentials are added here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from mcp_server.backend import Backend, Credentials
from mcp_server.errors import ErrorKind, ToolError

# Expired grants are remembered this long so late calls hear "timeout", not "unknown token".
_EXPIRED_MEMORY_SECONDS = 600.0


class Refused(Exception):
    def __init__(self, http_status: int, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.kind = kind
        self.message = message


@dataclass
class Grant:
    token: str
    credentials: Credentials = field(repr=False)
    deadline: float
    max_calls: int
    calls: int = 0


class CapabilityTokens:
    def __init__(self) -> None:
        self._grants: dict[str, Grant] = {}

    def issue(self, credentials: Credentials, timeout_seconds: float, max_calls: int) -> Grant:
        self._forget_old()
        grant = Grant(
            token=secrets.token_urlsafe(32),
            credentials=dict(credentials),
            deadline=time.monotonic() + timeout_seconds,
            max_calls=max_calls,
        )
        self._grants[grant.token] = grant
        return grant

    def revoke(self, token: str) -> None:
        self._grants.pop(token, None)

    def admit(self, token: str) -> Grant:
        """Count one call against the grant, or raise Refused saying why not."""
        grant = self._grants.get(token)
        if grant is None:
            raise Refused(401, ErrorKind.USER, "unknown or finished execution token")
        if time.monotonic() >= grant.deadline:
            raise Refused(401, ErrorKind.TIMEOUT, "the execution's wall-timeout has passed")
        if grant.calls >= grant.max_calls:
            raise Refused(
                429,
                ErrorKind.USER,
                f"API-call cap of {grant.max_calls} calls per execution reached",
            )
        grant.calls += 1
        return grant

    def _forget_old(self) -> None:
        horizon = time.monotonic() - _EXPIRED_MEMORY_SECONDS
        for token in [t for t, g in self._grants.items() if g.deadline < horizon]:
            del self._grants[token]


def _refusal(status: int, kind: ErrorKind, message: str) -> JSONResponse:
    return JSONResponse({"error": {"kind": kind.value, "message": message}}, status_code=status)


class ApiProxy:
    def __init__(self, backend: Backend, tokens: CapabilityTokens) -> None:
        self._backend = backend
        self._tokens = tokens

    async def handle_call(self, request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _refusal(401, ErrorKind.USER, "missing capability token")
        try:
            payload: Any = await request.json()
        except ValueError:
            return _refusal(400, ErrorKind.USER, "body must be JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("operationId"), str):
            return _refusal(400, ErrorKind.USER, "body needs a string field 'operationId'")
        params = payload.get("params") or {}
        if not isinstance(params, dict):
            return _refusal(400, ErrorKind.USER, "'params' must be an object")
        try:
            grant = self._tokens.admit(token)
        except Refused as refused:
            return _refusal(refused.http_status, refused.kind, refused.message)
        try:
            operation = self._backend.operation(payload["operationId"])
            answer = await self._backend.call(operation, params, grant.credentials, "execute")
        except ToolError as failed:
            return JSONResponse({"error": failed.as_dict()})
        if answer.status >= 400:
            return JSONResponse(
                {
                    "status": answer.status,
                    "body": answer.body,
                    "error": {"kind": ErrorKind.API.value, "message": answer.message},
                }
            )
        return JSONResponse({"status": answer.status, "body": answer.body})
