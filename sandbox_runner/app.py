"""The runner's HTTP API (docs/contracts.md section 2)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox_runner.isolate import (
    Isolate,
    IsolateConfig,
    Job,
    bootstrap_path,
    default_deno_path,
    parent_death_launcher,
)
from sandbox_runner.metrics import Metrics
from sandbox_runner.outcome import Outcome, infra_outcome, to_outcome
from sandbox_runner.pool import Busy, Pool, PoolLimits
from sandbox_runner.schema import ExecutionRequest, describe
from sandbox_runner.settings import Settings

log = logging.getLogger(__name__)
_SHM = "/dev/shm"
_WORK_PREFIX = "sandbox-runner-"


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: any string the code produced serialises (belt to frames.py)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def _problem(status: int, message: str, name: str = "BadRequest") -> JSONResponse:
    kind = "infra" if status >= 500 else "request"
    return AsciiJSONResponse({"error": {"kind": kind, "name": name, "message": message}}, status)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it grows past `limit` (without buffering the rest)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _work_parent(settings: Settings) -> str:
    """tmpfs when available: each execution creates and deletes a Deno cache directory."""
    if settings.work_dir:
        return settings.work_dir
    return _SHM if os.path.isdir(_SHM) else tempfile.gettempdir()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _work_root(parent: str) -> Path:
    """This runner's directory, named after its pid; first removes those of dead runners (a
    runner killed outright cannot clean up, and on tmpfs its leftovers would hold memory)."""
    for stale in Path(parent).glob(f"{_WORK_PREFIX}*"):
        owner = stale.name.removeprefix(_WORK_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _pid_alive(int(owner)):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{_WORK_PREFIX}{os.getpid()}-", dir=parent))


class Runner:
    """Binds the settings, the pool and the metrics to the HTTP handlers."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.metrics = Metrics()
        self._config = IsolateConfig(
            deno_path=settings.deno_path or default_deno_path(),
            bootstrap=bootstrap_path(),
            proxy_url=settings.proxy_url,
            proxy_host_port=settings.proxy_host_port,
            max_heap_mb=settings.max_heap_mb,
            max_rss_bytes=settings.max_rss_mb * 1024 * 1024,
            max_output_bytes=settings.max_output_bytes,
            spawn_timeout=settings.spawn_timeout,
            idle_timeout=settings.idle_timeout,
            work_root=_work_root(_work_parent(settings)),
            launcher=parent_death_launcher(),
        )
        limits = PoolLimits(
            size=settings.pool_size,
            max_queue=settings.max_queue,
            queue_timeout=settings.queue_timeout,
            spawn_timeout=settings.spawn_timeout,
        )
        self.pool = Pool(self._spawn, limits, self.metrics)

    async def _spawn(self) -> Isolate:
        return await Isolate.spawn(self._config)

    async def close(self) -> None:
        await self.pool.close()
        shutil.rmtree(self._config.work_root, ignore_errors=True)

    async def execute(self, request: Request) -> Response:
        body = await _read_body(request, self.settings.max_request_bytes)
        if body is None:
            return _problem(413, f"body: larger than {self.settings.max_request_bytes} bytes")
        try:
            data: Any = json.loads(body)
        except ValueError:
            return _problem(400, "body: not valid JSON")
        if not isinstance(data, dict):
            return _problem(422, "body: must be a JSON object")
        try:
            parsed = ExecutionRequest.model_validate(data)
        except ValidationError as error:
            return _problem(422, describe(error))
        timeout = parsed.timeout_seconds or self.settings.default_timeout
        if timeout > self.settings.max_timeout:
            return _problem(422, f"timeoutSeconds: at most {self.settings.max_timeout:g}")
        job = Job(
            code=parsed.code,
            language=parsed.language,
            sdk=parsed.sdk,
            token=parsed.token,
            max_api_calls=(
                self.settings.default_max_api_calls
                if parsed.max_api_calls is None
                else parsed.max_api_calls
            ),
            timeout=timeout,
        )
        return await self._run(job)

    async def _run(self, job: Job) -> Response:
        started = time.monotonic()
        try:
            run = await self.pool.execute(job)
        except Busy as busy:
            self.metrics.record("infra", time.monotonic() - started)
            return _problem(503, str(busy), name="Busy")
        except Exception as error:  # a runner fault must answer as infra, not drop the request
            log.exception("execution failed in the runner")
            outcome: Outcome = infra_outcome("RunnerError", f"{type(error).__name__}: {error}")
        else:
            outcome = to_outcome(
                run, job.timeout, self.settings.max_heap_mb, self.settings.max_rss_mb
            )
        self.metrics.record(outcome.error_kind, time.monotonic() - started)
        return AsciiJSONResponse(outcome.body)

    async def health(self, _request: Request) -> Response:
        healthy = self.pool.healthy
        return JSONResponse({"status": "ok" if healthy else "unavailable"}, 200 if healthy else 503)

    async def metrics_text(self, _request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings) -> Starlette:
    runner = Runner(settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        runner.pool.start()
        try:
            yield
        finally:
            await runner.close()

    routes = [
        Route("/v1/executions", runner.execute, methods=["POST"]),
        Route("/health", runner.health, methods=["GET"]),
        Route("/metrics", runner.metrics_text, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runner = runner
    return app
