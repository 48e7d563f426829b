"""The sample platform as a Starlette app: routes from the endpoint table, admin switches."""

from __future__ import annotations

import inspect
import json

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_server.sample_backend.endpoints import ENDPOINTS, Call, Endpoint
from mcp_server.sample_backend.faults import FaultInjector, Faults
from mcp_server.sample_backend.spec import render_document
from mcp_server.sample_backend.store import Conflict, NotFound, Store


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _route(endpoint: Endpoint, store: Store, token: str | None) -> Route:
    async def handle(request: Request) -> Response:
        if token is not None and request.headers.get("authorization") != f"Bearer {token}":
            return _error(401, "missing or wrong bearer token")
        try:
            result = endpoint.handler(store, await Call.read(request))
            if inspect.isawaitable(result):
                result = await result
        except (NotFound, LookupError) as exc:
            return _error(404, str(exc).strip("'\""))
        except Conflict as exc:
            return _error(409, str(exc))
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            return _error(422, str(exc))
        return JSONResponse(result, status_code=endpoint.status)

    return Route(
        endpoint.path, handle, methods=[endpoint.method.upper()], name=endpoint.operation_id
    )


def create_app(
    faults: Faults | None = None, build_seconds: float = 1.0, token: str | None = None
) -> Starlette:
    """`token`: when set, every API call must carry `Authorization: Bearer <token>`."""
    store = Store(build_seconds=build_seconds)
    injector_faults = faults or Faults()
    document = render_document()

    async def get_faults(request: Request) -> Response:
        return JSONResponse(app.state.faults.model_dump())

    async def put_faults(request: Request) -> Response:
        try:
            new = Faults.model_validate_json(await request.body())
        except ValidationError as exc:
            return _error(422, str(exc))
        # The injector holds the same object: update it in place.
        for name in Faults.model_fields:
            setattr(app.state.faults, name, getattr(new, name))
        return JSONResponse(app.state.faults.model_dump())

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    routes = [_route(endpoint, store, token) for endpoint in ENDPOINTS]
    routes += [
        Route("/admin/faults", get_faults, methods=["GET"]),
        Route("/admin/faults", put_faults, methods=["PUT"]),
        Route("/admin/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(FaultInjector, faults=injector_faults)])
    app.state.faults = injector_faults
    return app
