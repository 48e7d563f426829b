from __future__ import annotations

import time

from starlette.testclient import TestClient

from devcluster.specs import SAMPLE_SPEC
from mcp_server.openapi.loading import load_spec
from mcp_server.sample_backend.app import create_app
from mcp_server.sample_backend.faults import Faults
from mcp_server.sample_backend.spec import render_document

AUTH = {"authorization": "Bearer t"}


def test_committed_document_is_the_generated_one() -> None:
    # Regenerate with `codemode-sample-backend --write-spec`.
    assert SAMPLE_SPEC.read_text() == render_document()


def test_at_least_40_operations() -> None:
    assert len(load_spec(SAMPLE_SPEC).operations) >= 40


def test_deployment_goes_live_after_the_build() -> None:
    client = TestClient(create_app(build_seconds=0.2, token="t"))
    project = client.post("/projects", json={"name": "web"}, headers=AUTH).json()
    deployment = client.post(
        f"/projects/{project['id']}/deployments", json={"gitUrl": "https://g/x"}, headers=AUTH
    )
    assert deployment.status_code == 202 and deployment.json()["status"] == "queued"
    time.sleep(0.25)
    live = client.get(f"/deployments/{deployment.json()['id']}", headers=AUTH).json()
    assert (live["status"], live["url"]) == ("live", "https://web.sample-platform.app")


def test_token_and_errors() -> None:
    client = TestClient(create_app(token="t"))
    assert client.get("/projects").status_code == 401
    assert client.get("/projects/nope", headers=AUTH).status_code == 404
    assert client.post("/projects", json={}, headers=AUTH).status_code == 422
    client.post("/projects", json={"name": "a"}, headers=AUTH)
    assert client.post("/projects", json={"name": "a"}, headers=AUTH).status_code == 409


def test_fault_switches() -> None:
    client = TestClient(create_app(faults=Faults(error_status=503)))
    assert client.get("/regions").status_code == 503
    assert client.put("/admin/faults", json={"latency_ms": 5}).status_code == 200
    assert client.get("/regions").status_code == 200
    assert client.put("/admin/faults", json={"error_status": 99}).status_code == 422
