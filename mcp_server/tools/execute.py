"""`execute`: run the model's TypeScript in the sandbox runner with the SDK bound as `api`."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, Field

from mcp_server.api_proxy import CapabilityTokens, Grant
from mcp_server.errors import ErrorKind, ToolError
from mcp_server.limits import cap_json, cap_lines
from mcp_server.sandbox import Execution, SandboxRunner
from mcp_server.settings import Settings
from mcp_server.tools.base import CallContext, ToolDefinition, ToolReply, parse_arguments, schema_of
from mcp_server.tools.jobs import JobRegistry, running_reply, wait_for
from mcp_server.typecheck import TypeChecker, describe


class ExecuteArgs(BaseModel):
    code: str = Field(
        min_length=1,
        max_length=200_000,
        description="Body of an async function; `api` is the typed SDK; `return` the result",
    )


class ExecutionError(BaseModel):
    kind: Literal["infra", "timeout", "api", "user"]
    message: str
    name: str | None = None
    status: int | None = None
    operationId: str | None = None


class ExecutionResult(BaseModel):
    state: Literal["succeeded", "failed", "running"]
    result: Any = None
    logs: list[str] = Field(default_factory=list)
    error: ExecutionError | None = None
    truncated: bool = False
    errorKind: Literal["infra", "timeout", "api", "user"] | None = None
    durationMs: float | None = None
    jobId: str | None = None


def _corroborated(kind: ErrorKind, details: dict[str, Any], grant: Grant) -> ErrorKind:
    """The kind of an error the code's own runtime reported (origin `isolate`): `infra` and `api`
    only when the api-proxy saw such a failure for this execution, else the code's (`user`).

    Code can tamper with the runtime in its isolate and make it report anything; what the proxy
    saw, it cannot. The runner's own errors (origin `runner`) are taken as they are.
    """
    if details.get("origin") == "runner":
        return kind
    if (kind is ErrorKind.INFRA and grant.infra_failures) or (
        kind is ErrorKind.API and grant.api_failures
    ):
        return kind
    return ErrorKind.USER


def _error_from_runner(details: Any, grant: Grant) -> ToolError:
    details = details if isinstance(details, dict) else {}
    try:
        claimed = ErrorKind(details.get("kind"))
    except ValueError:
        claimed = ErrorKind.INFRA  # the runner is ours: a kind it does not know is our bug
    kind = _corroborated(claimed, details, grant)
    name = str(details.get("name") or "Error")
    message = str(details.get("message") or "the execution failed")
    if kind is not claimed:
        message += f" (reported as {claimed.value}, but no API call of this execution failed so)"
    extra = {key: details[key] for key in ("status", "operationId") if details.get(key)}
    return ToolError(kind, f"{name}: {message}", name=name, **extra)


def _failed(error: ToolError, common: dict[str, Any]) -> ToolReply:
    structured = {
        **common,
        "state": "failed",
        "error": error.as_dict(),
        "errorKind": error.kind.value,
    }
    return ToolReply(structured, error)


class Execute:
    def __init__(
        self,
        settings: Settings,
        runner: SandboxRunner,
        tokens: CapabilityTokens,
        jobs: JobRegistry,
        sdk_source: str,
        checker: TypeChecker | None = None,
    ) -> None:
        self._settings = settings
        self._runner = runner
        self._tokens = tokens
        self._jobs = jobs
        self._sdk = sdk_source
        self._checker = checker

    def _reply(self, answer: dict[str, Any], grant: Grant) -> ToolReply:
        logs = cap_lines(
            [str(line) for line in answer.get("logs") or []], self._settings.max_log_bytes
        )
        common = {
            "logs": logs.value,
            "truncated": bool(answer.get("truncated")) or logs.truncated,
            "durationMs": answer.get("durationMs"),
        }
        if answer.get("ok"):
            result = cap_json(answer.get("result"), self._settings.max_result_bytes)
            return ToolReply(
                {
                    **common,
                    "state": "succeeded",
                    "result": result.value,
                    "truncated": common["truncated"] or result.truncated,
                }
            )
        return _failed(_error_from_runner(answer.get("error"), grant), common)

    async def _run(self, code: str, context: CallContext) -> ToolReply:
        if self._checker is not None:
            problems = await self._checker.check(code)
            if problems:
                error = ToolError(ErrorKind.USER, describe(problems, code), name="TypeCheckError")
                return _failed(error, {"logs": []})
        timeout = self._settings.execution_timeout_seconds
        settings = self._settings
        grant = self._tokens.issue(
            context.credentials, timeout, settings.max_api_calls, settings.max_poll_calls
        )
        execution = Execution(
            code=code,
            sdk=self._sdk,
            token=grant.token,
            timeout_seconds=timeout,
            # The api-proxy keeps the two caps; the runner's own count is only an outer bound.
            max_api_calls=settings.max_api_calls + settings.max_poll_calls,
        )
        try:
            return self._reply(await self._runner.run(execution), grant)
        except ToolError as error:
            return _failed(error, {"logs": []})
        finally:
            self._tokens.revoke(grant.token)

    async def handle(self, arguments: dict[str, Any], context: CallContext) -> ToolReply:
        args = parse_arguments(ExecuteArgs, arguments)
        self._jobs.ensure_room()
        task = asyncio.create_task(self._run(args.code, context))
        if await wait_for(task, self._settings.soft_wait_seconds):
            return task.result()
        return running_reply(await self._jobs.adopt(task))

    def tool(self) -> ToolDefinition:
        return ToolDefinition(
            name="execute",
            description=(
                "Run TypeScript against the API. `code` is the body of an async function with "
                "`api` bound to the typed SDK (find operations with search); `return` a JSON "
                "value. console.log output is returned as logs. A backend 4xx throws ApiError "
                "(status, operationId); catch it to recover. To wait for something (a build), "
                "poll in the code with `await sleep(ms)` between reads: repeated reads of one "
                "resource do not count against the API-call cap. If the code runs longer than "
                f"{self._settings.soft_wait_seconds:g} s you get a jobId for pollJob."
            ),
            input_schema=schema_of(ExecuteArgs),
            output_schema=schema_of(ExecutionResult),
            handler=self.handle,
        )
