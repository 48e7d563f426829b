"""Calls to the backend API, by operation only: method and path always come from the spec.

Arguments are checked against the operation's schema first (mcp_server/arguments.py). A path
parameter is one path segment, expanded as RFC 6570 simple expansion (everything but the
unreserved characters percent-encoded), and `.`, `..`, empty values and `/` are refused: many
servers decode `%2F` before routing, so a parameter could otherwise steer the request to another
operation. There are no free-form URLs anywhere. Every way the model's arguments can make a
request impossible (too long, a character no URL or header may hold) is a `user` error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from mcp_server.arguments import ArgumentCheck
from mcp_server.errors import ErrorKind, ToolError
from mcp_server.metrics import Metrics
from mcp_server.openapi.loading import ApiSpec, Operation

Credentials = Mapping[str, str]

MAX_PARAMETER_CHARS = 2048  # per path, query or header value; URLs past ~8 KB are refused anyway
_IDEMPOTENT = frozenset({"get", "head", "put", "delete", "options"})
# The backend closed a kept-alive connection as the request went out: one retry is safe for
# idempotent methods and spares the model an infra error that says nothing about its call.
_STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@dataclass(frozen=True)
class BackendAnswer:
    status: int
    body: Any

    @property
    def message(self) -> str:
        """The backend's own words for an error, for the model to read."""
        if isinstance(self.body, dict):
            for key in ("message", "error", "detail", "title"):
                if isinstance(self.body.get(key), str):
                    return self.body[key]
        text = self.body if isinstance(self.body, str) else ""
        return text[:500] or f"HTTP {self.status}"


def _refuse(operation: Operation, message: str) -> ToolError:
    return ToolError(ErrorKind.USER, f"{operation.name}: {message}", operationId=operation.name)


def _text(operation: Operation, name: str, value: Any) -> str:
    if isinstance(value, dict | list):
        raise _refuse(operation, f"parameter {name} must be a string, number or boolean")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if len(text) > MAX_PARAMETER_CHARS:
        raise _refuse(
            operation, f"parameter {name} is {len(text)} characters; at most {MAX_PARAMETER_CHARS}"
        )
    return text


def _segment(operation: Operation, name: str, text: str) -> str:
    if text in ("", ".", "..") or "/" in text:
        raise _refuse(
            operation, f"path parameter {name}={text!r} is not one path segment (an id, a name)"
        )
    return quote(text, safe="")  # RFC 6570 simple expansion: only unreserved characters stay


def _header(operation: Operation, name: str, text: str) -> str:
    if not text.isascii() or not text.isprintable():
        raise _refuse(operation, f"header parameter {name} must be printable ASCII")
    return text


def _request_parts(
    operation: Operation, params: Mapping[str, Any]
) -> tuple[str, dict[str, str], dict[str, str], Any]:
    known = {param.name: param for param in operation.parameters}
    path = operation.path
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for name, value in params.items():
        param = known.get(name)
        if param is None or value is None:
            continue
        text = _text(operation, name, value)
        if param.location == "path":
            path = path.replace("{" + name + "}", _segment(operation, name, text))
        elif param.location == "query":
            query[name] = text
        else:
            headers[name] = _header(operation, name, text)
    return path, query, headers, params.get("body")


class Backend:
    def __init__(self, spec: ApiSpec, client: httpx.AsyncClient, metrics: Metrics) -> None:
        self.spec = spec
        self._client = client
        self._metrics = metrics
        self._arguments = ArgumentCheck(spec)

    def operation(self, name: str) -> Operation:
        operation = self.spec.operation(name)
        if operation is None:
            raise ToolError(
                ErrorKind.USER, f"unknown operation {name!r}; use search to find operations"
            )
        return operation

    async def call(
        self, operation: Operation, params: Mapping[str, Any], credentials: Credentials, via: str
    ) -> BackendAnswer:
        """Make the call; raise ToolError(infra) when there is no answer or a 5xx.

        `via` says who asked (`execute`, `native`, `tool`): the usage report's promotion
        candidates are the operations called most through execute.
        """
        self._arguments.check(operation, params)
        path, query, headers, body = _request_parts(operation, params)
        try:
            request = self._client.build_request(
                operation.method.upper(),
                self.spec.base_url + path,
                params=query,
                headers={**headers, **credentials},
                json=body,
            )
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            # The schema let it through but no HTTP request can carry it (e.g. too long a URL).
            raise _refuse(operation, f"arguments cannot be sent: {exc}") from exc
        try:
            response = await self._send(request, operation.method in _IDEMPOTENT)
        except httpx.HTTPError as exc:
            self._metrics.record_api_call(operation.name, None, via)
            raise ToolError(
                ErrorKind.INFRA,
                f"backend unreachable for {operation.name}: {type(exc).__name__}",
                operationId=operation.name,
            ) from exc
        self._metrics.record_api_call(operation.name, response.status_code, via)
        try:
            payload: Any = response.json() if response.content else None
        except ValueError:
            payload = response.text
        answer = BackendAnswer(response.status_code, payload)
        if response.status_code >= 500:
            raise ToolError(
                ErrorKind.INFRA,
                f"backend failed on {operation.name} (HTTP {answer.status}): {answer.message}",
                operationId=operation.name,
                status=answer.status,
            )
        return answer

    async def _send(self, request: httpx.Request, idempotent: bool) -> httpx.Response:
        try:
            return await self._client.send(request)
        except _STALE_CONNECTION:
            if not idempotent:
                raise
            return await self._client.send(request)

    async def call_or_raise(
        self, operation: Operation, params: Mapping[str, Any], credentials: Credentials, via: str
    ) -> Any:
        """For direct tools: a 4xx becomes ToolError(api) carrying the backend's message."""
        answer = await self.call(operation, params, credentials, via)
        if answer.status >= 400:
            raise ToolError(
                ErrorKind.API,
                f"{operation.name} failed with HTTP {answer.status}: {answer.message}",
                operationId=operation.name,
                status=answer.status,
            )
        return answer.body
