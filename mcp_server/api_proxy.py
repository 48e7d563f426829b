"""The api-proxy: the sandbox's only way out, per docs/contracts.md section 3.

Each execution gets a capability token bound to the end user's credentials, a call cap and a
deadline. The sandbox holds only the token; credentials are added here.

Polling is not charged to the call cap: a read (GET) of a resource the execution has read before
counts against a separate poll cap, and is paced to one per `poll_interval` (a faster repeat is
answered when the interval is over), so waiting for a 2-minute build costs about 120 polls and no
budget, and a loop without a sleep cannot hammer the backend.
"""

from __future__ import annotations

import asyncio
import json
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
    max_polls: int = 0
    calls: int = 0
    polls: int = 0
    # What the proxy itself saw fail: the only evidence an execution's infra or api error is
    # real (the code inside the sandbox can claim anything).
    infra_failures: int = 0
    api_failures: int = 0
    # per read (operation and arguments): when it may next be answered
    next_read: dict[str, float] = field(default_factory=dict, repr=False)


class CapabilityTokens:
    def __init__(self, poll_interval: float = 1.0) -> None:
        self._grants: dict[str, Grant] = {}
        self._poll_interval = poll_interval

    def issue(
        self, credentials: Credentials, timeout_seconds: float, max_calls: int, max_polls: int = 0
    ) -> Grant:
        self._forget_old()
        grant = Grant(
            token=secrets.token_urlsafe(32),
            credentials=dict(credentials),
            deadline=time.monotonic() + timeout_seconds,
            max_calls=max_calls,
            max_polls=max_polls,
        )
        self._grants[grant.token] = grant
        return grant

    def revoke(self, token: str) -> None:
        self._grants.pop(token, None)

    def check(self, token: str) -> Grant:
        """The live grant of `token`, or Refused: checked before anything of the call is read."""
        grant = self._grants.get(token)
        if grant is None:
            raise Refused(401, ErrorKind.USER, "unknown or finished execution token")
        if time.monotonic() >= grant.deadline:
            raise Refused(401, ErrorKind.TIMEOUT, "the execution's wall-timeout has passed")
        return grant

    def admit(self, token: str, read: str | None = None) -> tuple[Grant, float]:
        """Count one call against the grant, or raise Refused saying why not.

        `read` names a read (operation and arguments); a repeated one is a poll. Returns the
        grant and how long to wait before answering (pacing polls).
        """
        grant = self.check(token)
        now = time.monotonic()
        if read is not None and read in grant.next_read:
            if grant.polls >= grant.max_polls:
                raise Refused(
                    429,
                    ErrorKind.USER,
                    f"poll cap of {grant.max_polls} repeated reads per execution reached",
                )
            grant.polls += 1
            answer_at = max(now, grant.next_read[read])
        else:
            if grant.calls >= grant.max_calls:
                raise Refused(
                    429,
                    ErrorKind.USER,
                    f"API-call cap of {grant.max_calls} calls per execution reached "
                    "(repeated reads of one resource do not count: poll freely)",
                )
            grant.calls += 1
            answer_at = now
        if read is not None:
            grant.next_read[read] = answer_at + self._poll_interval
        return grant, answer_at - now

    def _forget_old(self) -> None:
        horizon = time.monotonic() - _EXPIRED_MEMORY_SECONDS
        for token in [t for t, g in self._grants.items() if g.deadline < horizon]:
            del self._grants[token]


def _read_key(operation_id: str, params: dict[str, Any]) -> str:
    return operation_id + " " + json.dumps(params, sort_keys=True, default=str)


def _refusal(status: int, kind: ErrorKind, message: str) -> JSONResponse:
    return JSONResponse({"error": {"kind": kind.value, "message": message}}, status_code=status)


async def _capped_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit`: refused on its Content-Length before a
    byte is read, and while streaming when it has none (or lies)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


class ApiProxy:
    def __init__(self, backend: Backend, tokens: CapabilityTokens, max_body_bytes: int) -> None:
        self._backend = backend
        self._tokens = tokens
        self._max_body_bytes = max_body_bytes

    async def handle_call(self, request: Request) -> JSONResponse:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _refusal(401, ErrorKind.USER, "missing capability token")
        try:
            self._tokens.check(token)
        except Refused as refused:
            return _refusal(refused.http_status, refused.kind, refused.message)
        body = await _capped_body(request, self._max_body_bytes)
        if body is None:
            message = f"a call's body may be at most {self._max_body_bytes} bytes"
            return _refusal(413, ErrorKind.USER, message)
        try:
            payload: Any = json.loads(body)
        except ValueError:
            return _refusal(400, ErrorKind.USER, "body must be JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("operationId"), str):
            return _refusal(400, ErrorKind.USER, "body needs a string field 'operationId'")
        params = payload.get("params")
        params = {} if params is None else params
        if not isinstance(params, dict):
            return _refusal(400, ErrorKind.USER, "'params' must be an object")
        known = self._backend.spec.operation(payload["operationId"])
        read = (
            _read_key(payload["operationId"], params) if known and known.method == "get" else None
        )
        try:
            grant, wait = self._tokens.admit(token, read)
        except Refused as refused:
            return _refusal(refused.http_status, refused.kind, refused.message)
        if wait > 0:
            await asyncio.sleep(wait)
        try:
            operation = self._backend.operation(payload["operationId"])
            answer = await self._backend.call(operation, params, grant.credentials, "execute")
        except ToolError as failed:
            if failed.kind is ErrorKind.INFRA:
                grant.infra_failures += 1
            return JSONResponse({"error": failed.as_dict()})
        if answer.status >= 400:
            grant.api_failures += 1
            return JSONResponse(
                {
                    "status": answer.status,
                    "body": answer.body,
                    "error": {"kind": ErrorKind.API.value, "message": answer.message},
                }
            )
        return JSONResponse({"status": answer.status, "body": answer.body})
