"""The api-proxy's listener refuses bad calls with a 4xx before anything reaches the backend:
the token first, then the body's size (declared or streamed), then its shape."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from devcluster.specs import SAMPLE_SPEC
from mcp_server.api_proxy import ApiProxy, CapabilityTokens
from mcp_server.backend import Backend
from mcp_server.metrics import Metrics
from mcp_server.openapi.loading import load_spec

LIMIT = 10_000
TOKENS = CapabilityTokens()
# The backend is a closed port: any call that got past the proxy's checks would be infra.
BACKEND = Backend(load_spec(SAMPLE_SPEC, "http://127.0.0.1:9"), httpx.AsyncClient(), Metrics("v2"))


@pytest.fixture(scope="module")
def proxy() -> Iterator[TestClient]:
    app = Starlette(
        routes=[
            Route("/proxy/v1/call", ApiProxy(BACKEND, TOKENS, LIMIT).handle_call, methods=["POST"])
        ]
    )
    with TestClient(app) as client:
        yield client


def _auth() -> dict[str, str]:
    return {"authorization": "Bearer " + TOKENS.issue({}, 60, 100).token}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{oops", 400),
        (b"\xff\xfe", 400),
        (b"[]", 400),
        (b'{"operationId": 7}', 400),
        (b'{"operationId": "getProject", "params": []}', 400),
        (b'{"operationId": "getProject", "params": {"projectId": "' + b"x" * LIMIT + b'"}}', 413),
    ],
)
def test_bad_bodies_get_4xx(proxy: TestClient, body: bytes, status: int) -> None:
    answer = proxy.post("/proxy/v1/call", content=body, headers=_auth())
    assert answer.status_code == status
    assert answer.json()["error"]["kind"] == "user"


def test_a_streamed_body_past_the_cap_is_refused_without_a_length(proxy: TestClient) -> None:
    chunks = (b"x" * 4096 for _ in range(10))  # no Content-Length: chunked
    answer = proxy.post("/proxy/v1/call", content=chunks, headers=_auth())
    assert answer.status_code == 413


def test_the_token_is_checked_before_the_body(proxy: TestClient) -> None:
    huge = b"x" * (LIMIT * 10)
    answer = proxy.post("/proxy/v1/call", content=huge, headers={"authorization": "Bearer no"})
    assert answer.status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"projectId": ".."},
        {"projectId": "a/b"},
        {"projectId": {"nested": 1}},
        {"nope": 1},
        {},
    ],
)
def test_wrong_arguments_are_user_errors_the_backend_never_sees(
    proxy: TestClient, params: dict[str, object]
) -> None:
    body = {"operationId": "getProject", "params": params}
    answer = proxy.post("/proxy/v1/call", json=body, headers=_auth())
    assert answer.status_code == 200
    assert answer.json()["error"]["kind"] == "user", answer.json()


def test_an_unknown_operation_is_a_user_error(proxy: TestClient) -> None:
    answer = proxy.post("/proxy/v1/call", json={"operationId": "rmRf"}, headers=_auth())
    assert answer.json()["error"]["kind"] == "user"
