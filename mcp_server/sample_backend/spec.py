"""The sample platform's OpenAPI document, built from the endpoint table.

The committed `openapi.json` is this document's output (`codemode-sample-backend --write-spec`);
a unit test keeps the two equal.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mcp_server.sample_backend.endpoints import ENDPOINTS, Endpoint

SPEC_PATH = Path(__file__).with_name("openapi.json")

_S = {"type": "string"}
_NULLABLE_S = {"type": "string", "nullable": True}
_INT = {"type": "integer"}


def _model(*required: str, **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


SCHEMAS: dict[str, Any] = {
    "Project": _model(
        "id",
        "name",
        "status",
        id=_S,
        name=_S,
        description=_S,
        region=_S,
        status={"type": "string", "enum": ["active", "archived", "stopped"]},
        instances=_INT,
        liveDeploymentId=_NULLABLE_S,
        createdAt=_S,
    ),
    "Deployment": _model(
        "id",
        "projectId",
        "status",
        id=_S,
        projectId=_S,
        gitUrl=_S,
        branch=_S,
        buildId=_S,
        createdAt=_S,
        status={"type": "string", "enum": ["queued", "building", "live", "failed", "cancelled"]},
        url={**_NULLABLE_S, "description": "Public URL, set once the deployment is live"},
    ),
    "Build": _model("id", "status", id=_S, deploymentId=_S, projectId=_S, status=_S),
    "Event": _model("type", type=_S, deploymentId=_S),
    "Logs": _model("lines", lines={"type": "array", "items": _S}),
    "EnvVar": _model("key", "value", key=_S, value=_S, secret={"type": "boolean"}),
    "Domain": _model(
        "id",
        "hostname",
        id=_S,
        projectId=_S,
        hostname=_S,
        verified={"type": "boolean"},
        primary={"type": "boolean"},
        createdAt=_S,
    ),
    "Scale": _model("instances", projectId=_S, instances=_INT),
    "Volume": _model("id", "name", id=_S, projectId=_S, name=_S, sizeGb=_INT, mountPath=_S),
    "Webhook": _model(
        "id", "url", id=_S, projectId=_S, url=_S, events={"type": "array", "items": _S}
    ),
    "Member": _model("id", "email", id=_S, email=_S, role=_S),
    "Region": _model("id", "name", id=_S, name=_S),
    "Metrics": _model(
        "projectId",
        projectId=_S,
        requestsPerMinute={"type": "number"},
        cpuPercent={"type": "number"},
    ),
    "Deleted": _model("deleted", deleted={"type": "boolean"}, id=_S),
    "Error": _model("error", error=_S),
}


def _ref(name: str) -> dict[str, Any]:
    if name.startswith("["):
        return {"type": "array", "items": _ref(name[1:-1])}
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _S}
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    parameters += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": kind},
        }
        for name, kind, text in endpoint.query
    ]
    error = {"content": {"application/json": {"schema": _ref("Error")}}}
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": {
            str(endpoint.status): {
                "description": "OK",
                "content": {"application/json": {"schema": _ref(endpoint.response)}},
            },
            "404": {"description": "Not found", **error},
            "default": {"description": "Error", **error},
        },
    }
    if endpoint.description:
        operation["description"] = endpoint.description
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": endpoint.body}},
        }
    return operation


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method] = _operation(endpoint)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Sample Platform API",
            "version": "1.0.0",
            "description": "A small deployment platform used to test and demo Code Mode.",
        },
        "servers": [{"url": "http://127.0.0.1:8081"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def render_document() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"
