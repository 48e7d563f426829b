"""Calls to the backend API, by operation only: method and path always come from the spec.

Path parameters are percent-encoded whole (no `/`, no `..`), so a parameter can never steer the
request to another path, host or scheme: there are no free-form URLs anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.metrics import Metrics
from mcp_server.openapi.loading import ApiSpec, Operation

Credentials = Mapping[str, str]


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


def _request_parts(
    operation: Operation, params: Mapping[str, Any]
) -> tuple[str, dict[str, str], dict[str, str], Any]:
    known = {param.name: param for param in operation.parameters}
    allowed = set(known) | ({"body"} if operation.body_schema is not None else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ToolError(
            ErrorKind.USER,
            f"{operation.name} has no parameter {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(allowed)) or 'nothing'}",
            operationId=operation.name,
        )
    missing = [name for name, param in known.items() if param.required and name not in params]
    if operation.body_required and "body" not in params:
        missing.append("body")
    if missing:
        raise ToolError(
            ErrorKind.USER,
            f"{operation.name} needs {', '.join(missing)}",
            operationId=operation.name,
        )
    path = operation.path
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for name, value in params.items():
        param = known.get(name)
        if param is None:
            continue
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if param.location == "path":
            path = path.replace("{" + name + "}", quote(text, safe=""))
        elif param.location == "query":
            query[name] = text
        else:
            headers[name] = text
    return path, query, headers, params.get("body")


class Backend:
    def __init__(self, spec: ApiSpec, client: httpx.AsyncClient, metrics: Metrics) -> None:
        self.spec = spec
        self._client = client
        self._metrics = metrics

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
        path, query, headers, body = _request_parts(operation, params)
        try:
            response = await self._client.request(
                operation.method.upper(),
                self.spec.base_url + path,
                params=query,
                headers={**headers, **credentials},
                json=body,
            )
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
