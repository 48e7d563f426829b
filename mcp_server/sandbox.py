"""Client of the sandbox runner (docs/contracts.md section 2)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from mcp_server.errors import ErrorKind, ToolError

# Allowance on top of the execution's own wall-timeout for the runner to answer.
_ANSWER_MARGIN_SECONDS = 15.0


@dataclass(frozen=True)
class Execution:
    code: str
    sdk: str = field(repr=False)
    token: str = field(repr=False)
    timeout_seconds: float
    max_api_calls: int

    def payload(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "language": "typescript",
            "sdk": self.sdk,
            "token": self.token,
            "timeoutSeconds": self.timeout_seconds,
            "maxApiCalls": self.max_api_calls,
        }


class SandboxRunner:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self._base_url = base_url.rstrip("/")
        self._client = client

    async def healthy(self) -> bool:
        try:
            response = await self._client.get(f"{self._base_url}/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def run(self, execution: Execution) -> dict[str, Any]:
        """The runner's 200 answer; ToolError(infra) when it is down, busy or answers oddly."""
        try:
            response = await self._client.post(
                f"{self._base_url}/v1/executions",
                # ASCII-escaped: code may hold a lone surrogate, which UTF-8 cannot encode.
                content=json.dumps(execution.payload()).encode("ascii"),
                headers={"content-type": "application/json"},
                timeout=execution.timeout_seconds + _ANSWER_MARGIN_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise ToolError(
                ErrorKind.INFRA,
                f"the sandbox runner is unreachable ({type(exc).__name__}); retry later",
            ) from exc
        try:
            answer: Any = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict):
            return answer
        message = (
            answer.get("error", {}).get("message") if isinstance(answer, dict) else None
        ) or f"HTTP {response.status_code}"
        if 400 <= response.status_code < 500:
            raise ToolError(ErrorKind.USER, f"the sandbox refused the code: {message}")
        raise ToolError(ErrorKind.INFRA, f"the sandbox runner failed: {message}; retry later")
