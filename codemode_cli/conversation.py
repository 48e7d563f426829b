"""Conversations that behave like a model's: the tools they listed, several calls, one version.

A v2 (Code Mode) conversation searches, executes the read operations it found, long enough to
become a job, and polls the job; a v1 (classic) one calls the read operations it listed. Every
answer of the MCP servers names the version that served it (header `codemode-version`), so a
call served by another version than the one the conversation started on counts as mixed: what
pinned sessions prevent. When a server refuses the conversation's pin (404 "Session not found"
for a session id, VERSION_CHANGED for a cookie: the route moved it, e.g. on a rollback), the
conversation starts again on the version it reaches now, as a client must: a restart, not a
failed call.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
from mcp import Client
from mcp.shared.exceptions import MCPError

from codemode_cli.traffic import (
    Call,
    Era,
    PlanError,
    connect,
    error_text,
    http_client,
    is_read,
    searched_reads,
)

VERSION_HEADER = "codemode-version"
VERSION_CHANGED = -32010  # mcp_server/sessions.py
SESSION_GONE = ("Session not found", "Session terminated")  # the server's and the SDK's words
MAX_RESTARTS = 3
POLL_SECONDS = 5


@dataclass
class Conversation:
    era: Era
    versions: list[str] = field(default_factory=list)  # the version of each (re)start
    calls: int = 0
    failed: int = 0  # calls answered with an error (is_error, or a failed execution)
    broken: str = ""  # the transport or protocol error that ended the conversation, if one did
    mixed: int = 0  # calls answered by another version than the conversation's
    restarts: int = 0  # pins refused by the server (404 / VERSION_CHANGED), then re-initialized
    errors: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.versions[0] if self.versions else "none"


def _root(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _describe(error: BaseException) -> str:
    code = f" ({error.code})" if isinstance(error, MCPError) else ""
    return f"{type(error).__name__}{code}: {error}"


def refused_pin(error: BaseException) -> bool:
    """The server says this conversation's pin is not its own: start again."""
    error = _root(error)
    if not isinstance(error, MCPError):
        return False
    return error.code == VERSION_CHANGED or error.message.startswith(SESSION_GONE)


def _code(delay_seconds: float, reads: list[str]) -> str:
    """The SDK calls first (a broken backend fails the execution at once), then a wait long
    enough to make the execution a job."""
    calls = ", ".join(f"await api.{name}({{}})" for name in reads[:2])
    wait = f"await new Promise((r) => setTimeout(r, {round(delay_seconds * 1000)}));\n"
    return f"const answers = [{calls}];\n{wait if delay_seconds else ''}return answers.length;"


async def _plan(client: Client, query: str, job_seconds: float) -> Iterator[Call]:
    """The calls a model would make with the tools this server listed, repeated."""
    tools = (await client.list_tools()).tools
    names = {tool.name for tool in tools}
    if "execute" in names:
        reads = await searched_reads(client, query)
        if not reads:
            raise PlanError(f"search {query!r} found no read operation")
        cycle = [
            Call("search", {"query": query}),
            Call("execute", {"code": _code(job_seconds, reads)}),
        ]
        return itertools.cycle(cycle)
    reads = [tool.name for tool in tools if is_read(tool)]
    if not reads:
        raise PlanError("no read operation among the tools")
    return itertools.cycle([Call(name, {}) for name in reads[:4]])


class _Served:
    """The versions that answered since the last mark (a response hook of the HTTP client)."""

    def __init__(self) -> None:
        self.versions: list[str] = []

    async def record(self, response: httpx2.Response) -> None:
        if version := response.headers.get(VERSION_HEADER):
            self.versions.append(version)

    def mark(self) -> None:
        self.versions.clear()

    def last(self) -> str:
        return self.versions[-1] if self.versions else "none"


async def _turn(client: Client, call: Call, seconds: float) -> tuple[int, str]:
    """One call, and for an execute that became a job the pollJob calls after it.

    Returns (calls made, error or "")."""
    result = await client.call_tool(call.tool, call.arguments, read_timeout_seconds=seconds)
    made = 1
    while not result.is_error and (result.structured_content or {}).get("state") == "running":
        job = {"jobId": result.structured_content["jobId"], "waitSeconds": POLL_SECONDS}
        result = await client.call_tool("pollJob", job, read_timeout_seconds=seconds)
        made += 1
        if made > 60:  # bounded: 60 polls of 5 s
            return made, "job still running after 60 polls"
    if result.is_error:
        return made, f"{call.tool}: {error_text(result)}"
    state = (result.structured_content or {}).get("state", "succeeded")
    return made, "" if state == "succeeded" else f"{call.tool}: execution {state}"


async def converse(
    url: str,
    token: str | None,
    era: Era,
    calls: int,
    query: str = "list",
    job_seconds: float = 0.0,
    pace: float = 0.0,
    call_seconds: float = 60.0,
    http_options: dict[str, Any] | None = None,
    stop: Callable[[], bool] = lambda: False,
    talk: Conversation | None = None,
) -> Conversation:
    """One conversation of about `calls` tool calls (a job's polls count), starting a turn at
    most every `pace` seconds, until `stop()` says so; `talk` shows its progress meanwhile."""
    talk = talk or Conversation(era)
    served = _Served()
    options = {"event_hooks": {"response": [served.record]}, **(http_options or {})}
    async with http_client(token, **options) as http:
        while talk.calls < calls and talk.restarts <= MAX_RESTARTS and not stop():
            try:
                async with connect(url, http, era) as client:
                    version = served.last()  # the version that answered the handshake
                    talk.versions.append(version)
                    steps = await _plan(client, query, job_seconds)
                    while talk.calls < calls and not stop():
                        started = time.monotonic()
                        served.mark()
                        made, error = await _turn(client, next(steps), call_seconds)
                        talk.calls += made
                        talk.mixed += made if any(v != version for v in served.versions) else 0
                        if error:
                            talk.failed += 1
                            talk.errors.append(error)
                        await asyncio.sleep(max(0.0, started + pace - time.monotonic()))
            except Exception as error:
                if not refused_pin(error):
                    talk.broken = _describe(_root(error))[:300]
                    return talk
                talk.restarts += 1
    return talk
