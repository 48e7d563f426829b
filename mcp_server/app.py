"""The process: MCP over Streamable HTTP, health and metrics on the public listener; the
api-proxy alone on its own (mcp_server/listeners.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_server.api_proxy import ApiProxy, CapabilityTokens
from mcp_server.backend import Backend
from mcp_server.jobstore import job_store
from mcp_server.listeners import Listeners
from mcp_server.mcp_tools import ToolDispatcher
from mcp_server.metrics import Metrics
from mcp_server.openapi.loading import ApiSpec, load_spec
from mcp_server.openapi.typescript import declarations, runtime_client
from mcp_server.sandbox import SandboxRunner
from mcp_server.sessions import Pins, SessionPinning
from mcp_server.settings import Settings
from mcp_server.signing import Signer
from mcp_server.tools.base import ToolDefinition, schema_of
from mcp_server.tools.classic import classic_tools
from mcp_server.tools.execute import Execute, ExecutionResult
from mcp_server.tools.jobs import JobRegistry, PollJob
from mcp_server.tools.natives import native_tools
from mcp_server.tools.search import Search
from mcp_server.typecheck import TypeChecker, default_tsc

_INSTRUCTIONS = {
    "v2": "Code Mode: use `search` to find API operations, then `execute` TypeScript calling "
    "them as `await api.<operationId>(params)`; poll long runs with `pollJob`.",
    "v1": "Each API operation is a tool; arguments are its parameters plus `body`.",
}


def _tools(
    settings: Settings,
    spec: ApiSpec,
    backend: Backend,
    runner: SandboxRunner,
    tokens: CapabilityTokens,
    jobs: JobRegistry,
    checker: TypeChecker | None,
) -> list[ToolDefinition]:
    if settings.mode == "v1":
        return classic_tools(backend)
    execute = Execute(settings, runner, tokens, jobs, runtime_client(spec), checker)
    return [
        Search(spec, settings.search_limit).tool(),
        execute.tool(),
        PollJob(jobs, schema_of(ExecutionResult)).tool(),
        *native_tools(backend, settings.natives),
    ]


def _type_checker(settings: Settings, spec: ApiSpec) -> TypeChecker | None:
    if settings.mode != "v2" or not settings.type_check:
        return None
    tsc = settings.tsc_path or default_tsc()
    if tsc is None:
        raise ValueError("typeCheck is on but no tsc was found: install TypeScript or set tscPath")
    return TypeChecker(declarations(spec), tsc)


def create_app(settings: Settings) -> Listeners:
    """Build the app; raises SpecError when the mounted spec cannot be served."""
    spec = load_spec(settings.spec_path, settings.backend_url)
    metrics = Metrics(settings.mode)
    if settings.mode == "v2":
        metrics.record_natives(settings.natives)
    backend_client = httpx.AsyncClient(timeout=settings.backend_timeout_seconds)
    runner_client = httpx.AsyncClient()
    backend = Backend(spec, backend_client, metrics)
    tokens = CapabilityTokens(settings.poll_interval_seconds)
    key = settings.session_key.get_secret_value() if settings.session_key else None
    signer = Signer(key)
    store = job_store(settings.job_store_url, settings.job_ttl_seconds)
    jobs = JobRegistry(store, signer, settings.max_jobs, settings.job_ttl_seconds)
    runner = SandboxRunner(settings.sandbox_url, runner_client)
    checker = _type_checker(settings, spec)
    dispatcher = ToolDispatcher(
        _tools(settings, spec, backend, runner, tokens, jobs, checker),
        metrics,
        settings.forward_headers,
    )
    session_manager = StreamableHTTPSessionManager(
        app=dispatcher.server(f"{spec.title} ({settings.mode})", _INSTRUCTIONS[settings.mode]),
        # No session state: the pins (mcp_server/sessions.py) are signed, any replica checks them.
        stateless=True,
        json_response=True,
        security_settings=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=settings.allowed_hosts,
            allowed_origins=settings.allowed_origins,
        ),
    )
    proxy = ApiProxy(backend, tokens, settings.max_proxy_body_bytes)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {"spec": len(spec.operations)}
        ready = True
        if settings.mode == "v2":
            checks["sandbox"] = await runner.healthy()
            ready = checks["sandbox"]
            # Reported, not gated on: only long executions need it, and a store blip must not
            # take every v2 pod out of the Service at once.
            checks["jobStore"] = await store.healthy()
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with session_manager.run():
            try:
                yield
            finally:
                await jobs.close()
                if checker is not None:
                    checker.close()
                await backend_client.aclose()
                await runner_client.aclose()

    public = Starlette(
        routes=[
            Route(
                "/mcp",
                SessionPinning(
                    StreamableHTTPASGIApp(session_manager), Pins(signer, settings.mode), metrics
                ),
            ),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    proxy_app = Starlette(routes=[Route("/proxy/v1/call", proxy.handle_call, methods=["POST"])])
    return Listeners(public, proxy_app, settings.proxy_port)
