"""Tool calls against a real MCP server through the official client: what smoke and soak send.

The mix is found from the server itself, so the same command checks any spec: in Code Mode
(v2) `search`, `execute` with a couple of SDK calls and a native tool if one is configured; in
classic mode (v1) a few operation tools. Only read operations (GET, no required parameter) are
called, so a check never changes the platform it checks.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, Tool

CODE_MODE_TOOLS = frozenset({"search", "execute", "pollJob"})
SDK_CALLS = 2  # SDK calls per execute: enough to cross the api-proxy more than once
POLL_SECONDS = 10
_OPERATION = re.compile(r"\((GET) (\S+)\)\s*$")  # tool descriptions end with "(GET /path)"


class PlanError(Exception):
    """The server offers nothing the check can call safely."""


@dataclass(frozen=True)
class Call:
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    tool: str
    ok: bool
    seconds: float
    error: str = ""


# A session-era client (protocol 2025-11-25: initialize, Mcp-Session-Id) or a sessionless one
# (2026-07-28: no handshake, no session; the SDK's default, which probes server/discover).
Era = Literal["session", "sessionless"]
ERAS: tuple[Era, ...] = ("session", "sessionless")


def http_client(token: str | None, **options: Any) -> httpx2.AsyncClient:
    """The MCP client's HTTP client (it keeps cookies), sending the user's bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    if not options:
        return create_mcp_http_client(headers=headers)
    return httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300), **options)


@asynccontextmanager
async def connect(
    url: str, http: httpx2.AsyncClient, era: Era = "session"
) -> AsyncIterator[Client]:
    """The official MCP client over Streamable HTTP on `http` (several may share its cookies)."""
    mode = "legacy" if era == "session" else "auto"
    async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


@asynccontextmanager
async def session(url: str, token: str | None, era: Era = "session") -> AsyncIterator[Client]:
    """One client session with its own HTTP client."""
    async with http_client(token) as http, connect(url, http, era) as client:
        yield client


def is_read(tool: Tool) -> bool:
    found = _OPERATION.search(tool.description or "")
    required = (tool.input_schema or {}).get("required") or []
    return found is not None and "{" not in found.group(2) and not required


async def searched_reads(client: Client, query: str) -> list[str]:
    result = await client.call_tool("search", {"query": query, "limit": 20})
    matches = (result.structured_content or {}).get("results", []) if not result.is_error else []
    return [
        m["operationId"]
        for m in matches
        if m.get("method", "").upper() == "GET" and "{" not in m.get("path", "{")
    ]


async def plan(client: Client, query: str, operations: Sequence[str]) -> list[Call]:
    """The cycle of calls to repeat; `operations` overrides the discovered read operations."""
    tools = (await client.list_tools()).tools
    names = {tool.name for tool in tools}
    if "execute" not in names:  # classic v1: every operation is a tool
        reads = list(operations) or [tool.name for tool in tools if is_read(tool)][:3]
        if not reads:
            raise PlanError("no read operation (GET, no required parameter) among the tools")
        return [Call(name, {}) for name in reads]
    sdk = list(operations) or (await searched_reads(client, query))
    if not sdk:
        raise PlanError(f"search {query!r} found no read operation; pass --operations")
    answers = ", ".join(f"await api.{name}({{}})" for name in sdk[:SDK_CALLS])
    execute = Call("execute", {"code": f"const answers = [{answers}];\nreturn answers.length;"})
    calls = [Call("search", {"query": query}), execute]
    natives = [tool.name for tool in tools if tool.name not in CODE_MODE_TOOLS and is_read(tool)]
    return calls + [Call(name, {}) for name in natives[:1]]


def error_text(result: CallToolResult) -> str:
    texts = [getattr(block, "text", "") for block in result.content]
    return (" ".join(t for t in texts if t) or "error without text").splitlines()[0][:200]


async def _finished(client: Client, result: CallToolResult) -> CallToolResult:
    """An execute that became a job: poll it (bounded by the job's own wall-timeout)."""
    for _ in range(120):  # 120 polls x 10 s covers the default 600 s wall-timeout, twice
        state = (result.structured_content or {}).get("state")
        if result.is_error or state != "running":
            return result
        job = {"jobId": result.structured_content["jobId"], "waitSeconds": POLL_SECONDS}
        result = await client.call_tool("pollJob", job)
    return result


async def perform(client: Client, call: Call) -> Outcome:
    started = time.perf_counter()
    try:
        result = await client.call_tool(call.tool, call.arguments)
        if call.tool == "execute":
            result = await _finished(client, result)
    except Exception as exc:  # a dropped connection or a protocol error is a failed call
        return Outcome(
            call.tool, False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
        )
    seconds = time.perf_counter() - started
    if result.is_error:
        return Outcome(call.tool, False, seconds, error_text(result))
    state = (result.structured_content or {}).get("state", "succeeded")
    if state != "succeeded":
        return Outcome(call.tool, False, seconds, f"execution {state}")
    return Outcome(call.tool, True, seconds)


async def drive(
    url: str,
    token: str | None,
    total: int,
    concurrency: int,
    calls: Sequence[Call],
    done: Callable[[Outcome], None],
) -> list[Outcome]:
    """`total` calls cycling through `calls`, on `concurrency` sessions at once."""
    outcomes: list[Outcome] = []
    turns = iter(range(total))

    async def worker() -> None:
        async with session(url, token) as client:
            for turn in turns:  # shared iterator: each turn is taken by exactly one worker
                outcome = await perform(client, calls[turn % len(calls)])
                outcomes.append(outcome)
                done(outcome)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, min(concurrency, total))):
            group.create_task(worker())
    return outcomes
