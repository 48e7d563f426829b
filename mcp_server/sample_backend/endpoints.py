"""The sample platform's operations: one table drives both the routes and the OpenAPI document."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from mcp_server.sample_backend.store import Conflict, Record, Store

Handler = Callable[[Store, "Call"], Awaitable[Any] | Any]


@dataclass(frozen=True)
class Call:
    path: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]

    @classmethod
    async def read(cls, request: Request) -> Call:
        body = await request.json() if await request.body() else {}
        return cls(dict(request.path_params), dict(request.query_params), body or {})

    def require(self, name: str) -> Any:
        if self.body.get(name) in (None, ""):
            raise ValueError(f"body field {name!r} is required")
        return self.body[name]


@dataclass(frozen=True)
class Endpoint:
    operation_id: str
    method: str
    path: str
    summary: str
    tag: str
    handler: Handler
    response: str  # component schema name, "[Name]" for a list, "" for a plain object
    body: dict[str, Any] | None = None
    query: tuple[tuple[str, str, str], ...] = ()  # (name, JSON type, description)
    status: int = 200
    description: str = field(default="")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- generic collection handlers ------------------------------------------------------------


def _lister(kind: str) -> Handler:
    return lambda store, call: store.children(kind, call.path["projectId"])


def _getter(kind: str, key: str) -> Handler:
    return lambda store, call: store.get(kind, call.path[key])


def _remover(kind: str, key: str) -> Handler:
    def remove(store: Store, call: Call) -> Record:
        store.remove(kind, call.path[key])
        return {"deleted": True, "id": call.path[key]}

    return remove


def _child_creator(kind: str, prefix: str, required: tuple[str, ...], **defaults: Any) -> Handler:
    def create(store: Store, call: Call) -> Record:
        store.get("project", call.path["projectId"])
        fields = {name: call.require(name) for name in required}
        record = {**defaults, **call.body, **fields}
        record.update(id=store.new_id(prefix), projectId=call.path["projectId"], createdAt=_now())
        return store.add(kind, record)

    return create


def _project_state(status: str) -> Handler:
    def change(store: Store, call: Call) -> Record:
        project = store.get("project", call.path["projectId"])
        project["status"] = status
        return project

    return change


# -- projects -------------------------------------------------------------------------------


def list_projects(store: Store, call: Call) -> list[Record]:
    projects = list(store.table("project").values())
    if "status" in call.query:
        projects = [p for p in projects if p["status"] == call.query["status"]]
    return projects[: int(call.query.get("limit", "100"))]


def create_project(store: Store, call: Call) -> Record:
    name = str(call.require("name"))
    if any(p["name"] == name for p in store.table("project").values()):
        raise Conflict(f"a project named {name!r} already exists")
    return store.add(
        "project",
        {
            "id": store.new_id("prj"),
            "name": name,
            "description": call.body.get("description", ""),
            "region": call.body.get("region", "eu-west"),
            "status": "active",
            "instances": 1,
            "liveDeploymentId": None,
            "createdAt": _now(),
        },
    )


def update_project(store: Store, call: Call) -> Record:
    project = store.get("project", call.path["projectId"])
    project.update({k: v for k, v in call.body.items() if k in ("name", "description", "region")})
    return project


# -- deployments and builds -------------------------------------------------------------------


def _start_deployment(store: Store, project_id: str, git_url: str, branch: str) -> Record:
    deployment_id = store.new_id("dep")
    build_id = store.new_id("bld")
    store.add("build", {"id": build_id, "deploymentId": deployment_id, "projectId": project_id})
    return store.add(
        "deployment",
        {
            "id": deployment_id,
            "projectId": project_id,
            "gitUrl": git_url,
            "branch": branch,
            "status": "queued",
            "url": None,
            "buildId": build_id,
            "createdAt": _now(),
            "_queuedAt": time.monotonic(),
        },
    )


def create_deployment(store: Store, call: Call) -> Record:
    store.get("project", call.path["projectId"])
    git_url = str(call.require("gitUrl"))
    if not git_url.startswith(("https://", "git@")):
        raise ValueError("gitUrl must be an https:// or git@ URL")
    deployment = _start_deployment(
        store, call.path["projectId"], git_url, call.body.get("branch", "main")
    )
    return store.deployment_view(deployment)


def get_deployment(store: Store, call: Call) -> Record:
    return store.deployment_view(store.get("deployment", call.path["deploymentId"]))


def list_deployments(store: Store, call: Call) -> list[Record]:
    return [store.deployment_view(d) for d in store.children("deployment", call.path["projectId"])]


def cancel_deployment(store: Store, call: Call) -> Record:
    deployment = store.get("deployment", call.path["deploymentId"])
    if store.deployment_view(deployment)["status"] == "live":
        raise Conflict("the deployment is already live")
    deployment["status"] = "cancelled"
    return store.deployment_view(deployment)


def redeploy(store: Store, call: Call) -> Record:
    old = store.get("deployment", call.path["deploymentId"])
    new = _start_deployment(store, old["projectId"], old["gitUrl"], old["branch"])
    return store.deployment_view(new)


def rollback_project(store: Store, call: Call) -> Record:
    project = store.get("project", call.path["projectId"])
    target = store.deployment_view(store.get("deployment", str(call.require("deploymentId"))))
    if target["status"] != "live":
        raise Conflict("only a deployment that went live can be rolled back to")
    project["liveDeploymentId"] = target["id"]
    return project


def deployment_events(store: Store, call: Call) -> list[Record]:
    view = get_deployment(store, call)
    steps = ["queued", "building", "live"]
    reached = steps.index(view["status"]) + 1 if view["status"] in steps else 1
    return [{"type": step, "deploymentId": view["id"]} for step in steps[:reached]]


def get_build(store: Store, call: Call) -> Record:
    build = store.get("build", call.path["buildId"])
    status = get_deployment(store, Call({"deploymentId": build["deploymentId"]}, {}, {}))["status"]
    return {**build, "status": {"live": "succeeded", "queued": "queued"}.get(status, status)}


def list_builds(store: Store, call: Call) -> list[Record]:
    return [
        get_build(store, Call({"buildId": b["id"]}, {}, {}))
        for b in store.children("build", call.path["projectId"])
    ]


def _log_lines(view: Record) -> list[str]:
    lines = [f"[{view['id']}] cloning {view['gitUrl']} ({view['branch']})"]
    if view["status"] in ("building", "live"):
        lines.append(f"[{view['id']}] building image")
    if view["status"] == "live":
        lines.append(f"[{view['id']}] serving on {view['url']}")
    return lines


def deployment_logs(store: Store, call: Call) -> Record:
    lines = _log_lines(get_deployment(store, call))
    return {"lines": lines[-int(call.query.get("tail", "100")) :]}


def build_logs(store: Store, call: Call) -> Record:
    build = store.get("build", call.path["buildId"])
    view = get_deployment(store, Call({"deploymentId": build["deploymentId"]}, {}, {}))
    return {"lines": _log_lines(view)[:2]}


def project_logs(store: Store, call: Call) -> Record:
    lines = [line for view in list_deployments(store, call) for line in _log_lines(view)]
    return {"lines": lines[-int(call.query.get("tail", "100")) :]}


# -- environment variables (keyed by name) -------------------------------------------------------


def _env(store: Store, project_id: str) -> dict[str, Record]:
    store.get("project", project_id)
    return store.table("env").setdefault(project_id, {})


def list_env(store: Store, call: Call) -> list[Record]:
    return list(_env(store, call.path["projectId"]).values())


def set_env(store: Store, call: Call) -> Record:
    record = {
        "key": call.path["key"],
        "value": str(call.require("value")),
        "secret": bool(call.body.get("secret", False)),
    }
    _env(store, call.path["projectId"])[call.path["key"]] = record
    return record


def get_env(store: Store, call: Call) -> Record:
    variables = _env(store, call.path["projectId"])
    if call.path["key"] not in variables:
        raise LookupError(f"variable {call.path['key']!r} not found")
    return variables[call.path["key"]]


def delete_env(store: Store, call: Call) -> Record:
    get_env(store, call)
    del _env(store, call.path["projectId"])[call.path["key"]]
    return {"deleted": True, "id": call.path["key"]}


def bulk_set_env(store: Store, call: Call) -> list[Record]:
    variables = call.require("variables")
    if not isinstance(variables, dict):
        raise ValueError("variables must be an object of name to value")
    target = _env(store, call.path["projectId"])
    for key, value in variables.items():
        target[key] = {"key": key, "value": str(value), "secret": False}
    return list(target.values())


# -- domains -------------------------------------------------------------------------------


def verify_domain(store: Store, call: Call) -> Record:
    domain = store.get("domain", call.path["domainId"])
    domain["verified"] = True
    return domain


def primary_domain(store: Store, call: Call) -> Record:
    domain = store.get("domain", call.path["domainId"])
    if not domain["verified"]:
        raise Conflict("verify the domain before making it primary")
    for other in store.children("domain", domain["projectId"]):
        other["primary"] = other["id"] == domain["id"]
    return domain


# -- scaling, team, misc ---------------------------------------------------------------------


def get_scale(store: Store, call: Call) -> Record:
    project = store.get("project", call.path["projectId"])
    return {"projectId": project["id"], "instances": project["instances"]}


def scale_project(store: Store, call: Call) -> Record:
    instances = call.require("instances")
    if not isinstance(instances, int) or not 0 <= instances <= 20:
        raise ValueError("instances must be an integer from 0 to 20")
    store.get("project", call.path["projectId"])["instances"] = instances
    return get_scale(store, call)


def invite_member(store: Store, call: Call) -> Record:
    member = {
        "id": store.new_id("usr"),
        "email": str(call.require("email")),
        "role": call.body.get("role", "developer"),
    }
    return store.add("member", member)


def project_metrics(store: Store, call: Call) -> Record:
    project = store.get("project", call.path["projectId"])
    return {"projectId": project["id"], "requestsPerMinute": 42.0, "cpuPercent": 12.5}


REGIONS = [{"id": "eu-west", "name": "Europe West"}, {"id": "us-east", "name": "US East"}]


def _object(required: tuple[str, ...], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


_STR = {"type": "string"}
_PROJECT = "/projects/{projectId}"
_DEPLOYMENT = "/deployments/{deploymentId}"
_DOMAIN = "/domains/{domainId}"
_LIMIT = (("limit", "integer", "Maximum number of items to return"),)
_TAIL = (("tail", "integer", "Only the last N log lines"),)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "listProjects",
        "get",
        "/projects",
        "List projects",
        "projects",
        list_projects,
        "[Project]",
        query=(*_LIMIT, ("status", "string", "Filter by status: active or archived")),
    ),
    Endpoint(
        "createProject",
        "post",
        "/projects",
        "Create a project",
        "projects",
        create_project,
        "Project",
        _object(
            ("name",),
            name={**_STR, "description": "Unique project name"},
            description=_STR,
            region={**_STR, "enum": ["eu-west", "us-east"]},
        ),
        status=201,
        description="A project groups deployments, env vars and domains.",
    ),
    Endpoint(
        "getProject",
        "get",
        _PROJECT,
        "Get a project",
        "projects",
        _getter("project", "projectId"),
        "Project",
    ),
    Endpoint(
        "updateProject",
        "patch",
        _PROJECT,
        "Update (rename) a project",
        "projects",
        update_project,
        "Project",
        _object((), name=_STR, description=_STR, region=_STR),
    ),
    Endpoint(
        "deleteProject",
        "delete",
        _PROJECT,
        "Delete a project",
        "projects",
        _remover("project", "projectId"),
        "Deleted",
    ),
    Endpoint(
        "archiveProject",
        "post",
        _PROJECT + "/archive",
        "Archive a project",
        "projects",
        _project_state("archived"),
        "Project",
    ),
    Endpoint(
        "listDeployments",
        "get",
        _PROJECT + "/deployments",
        "List a project's deployments",
        "deployments",
        list_deployments,
        "[Deployment]",
    ),
    Endpoint(
        "createDeployment",
        "post",
        _PROJECT + "/deployments",
        "Deploy a project from a git repository URL",
        "deployments",
        create_deployment,
        "Deployment",
        _object(
            ("gitUrl",),
            gitUrl={**_STR, "description": "https or ssh git URL"},
            branch={**_STR, "default": "main"},
        ),
        status=202,
        description="Starts an asynchronous build; poll getDeployment until status is live "
        "(then `url` is set) or failed.",
    ),
    Endpoint(
        "getDeployment",
        "get",
        _DEPLOYMENT,
        "Get a deployment's status and URL",
        "deployments",
        get_deployment,
        "Deployment",
    ),
    Endpoint(
        "cancelDeployment",
        "post",
        _DEPLOYMENT + "/cancel",
        "Cancel a running deployment",
        "deployments",
        cancel_deployment,
        "Deployment",
    ),
    Endpoint(
        "redeployDeployment",
        "post",
        _DEPLOYMENT + "/redeploy",
        "Redeploy: build the same commit again",
        "deployments",
        redeploy,
        "Deployment",
        status=202,
    ),
    Endpoint(
        "rollbackProject",
        "post",
        _PROJECT + "/rollback",
        "Roll a project back to an earlier live deployment",
        "deployments",
        rollback_project,
        "Project",
        _object(("deploymentId",), deploymentId=_STR),
    ),
    Endpoint(
        "listDeploymentEvents",
        "get",
        _DEPLOYMENT + "/events",
        "List a deployment's lifecycle events",
        "deployments",
        deployment_events,
        "[Event]",
    ),
    Endpoint(
        "getBuildJob",
        "get",
        "/builds/{buildId}",
        "Get a build job's status",
        "builds",
        get_build,
        "Build",
    ),
    Endpoint(
        "listBuildJobs",
        "get",
        _PROJECT + "/builds",
        "List a project's build jobs",
        "builds",
        list_builds,
        "[Build]",
    ),
    Endpoint(
        "getDeploymentLogs",
        "get",
        _DEPLOYMENT + "/logs",
        "Get a deployment's runtime logs",
        "logs",
        deployment_logs,
        "Logs",
        query=_TAIL,
    ),
    Endpoint(
        "getBuildLogs",
        "get",
        "/builds/{buildId}/logs",
        "Get a build job's output logs",
        "logs",
        build_logs,
        "Logs",
    ),
    Endpoint(
        "getProjectLogs",
        "get",
        _PROJECT + "/logs",
        "Get logs of all of a project's deployments",
        "logs",
        project_logs,
        "Logs",
        query=_TAIL,
    ),
    Endpoint(
        "listEnvVars",
        "get",
        _PROJECT + "/env",
        "List environment variables",
        "env",
        list_env,
        "[EnvVar]",
    ),
    Endpoint(
        "setEnvVar",
        "put",
        _PROJECT + "/env/{key}",
        "Set an environment variable",
        "env",
        set_env,
        "EnvVar",
        _object(("value",), value=_STR, secret={"type": "boolean"}),
    ),
    Endpoint(
        "getEnvVar",
        "get",
        _PROJECT + "/env/{key}",
        "Get one environment variable",
        "env",
        get_env,
        "EnvVar",
    ),
    Endpoint(
        "deleteEnvVar",
        "delete",
        _PROJECT + "/env/{key}",
        "Delete an environment variable",
        "env",
        delete_env,
        "Deleted",
    ),
    Endpoint(
        "bulkSetEnvVars",
        "post",
        _PROJECT + "/env",
        "Set many environment variables at once",
        "env",
        bulk_set_env,
        "[EnvVar]",
        _object(("variables",), variables={"type": "object", "additionalProperties": _STR}),
    ),
    Endpoint(
        "listDomains",
        "get",
        _PROJECT + "/domains",
        "List a project's custom domains",
        "domains",
        _lister("domain"),
        "[Domain]",
    ),
    Endpoint(
        "addDomain",
        "post",
        _PROJECT + "/domains",
        "Attach a custom domain to a project",
        "domains",
        _child_creator("domain", "dom", ("hostname",), verified=False, primary=False),
        "Domain",
        _object(("hostname",), hostname=_STR),
        status=201,
    ),
    Endpoint(
        "getDomain",
        "get",
        _DOMAIN,
        "Get a custom domain",
        "domains",
        _getter("domain", "domainId"),
        "Domain",
    ),
    Endpoint(
        "verifyDomain",
        "post",
        _DOMAIN + "/verify",
        "Verify a domain's DNS records",
        "domains",
        verify_domain,
        "Domain",
    ),
    Endpoint(
        "deleteDomain",
        "delete",
        _DOMAIN,
        "Remove a custom domain",
        "domains",
        _remover("domain", "domainId"),
        "Deleted",
    ),
    Endpoint(
        "setPrimaryDomain",
        "post",
        _DOMAIN + "/primary",
        "Make a domain the primary one",
        "domains",
        primary_domain,
        "Domain",
    ),
    Endpoint(
        "getProjectScale",
        "get",
        _PROJECT + "/scale",
        "Get the number of instances",
        "scaling",
        get_scale,
        "Scale",
    ),
    Endpoint(
        "scaleProject",
        "put",
        _PROJECT + "/scale",
        "Scale a project to N instances",
        "scaling",
        scale_project,
        "Scale",
        _object(("instances",), instances={"type": "integer", "minimum": 0, "maximum": 20}),
    ),
    Endpoint(
        "restartProject",
        "post",
        _PROJECT + "/restart",
        "Restart a project's instances",
        "scaling",
        _project_state("active"),
        "Project",
    ),
    Endpoint(
        "stopProject",
        "post",
        _PROJECT + "/stop",
        "Stop a project (scale to zero)",
        "scaling",
        _project_state("stopped"),
        "Project",
    ),
    Endpoint(
        "startProject",
        "post",
        _PROJECT + "/start",
        "Start a stopped project",
        "scaling",
        _project_state("active"),
        "Project",
    ),
    Endpoint(
        "listVolumes",
        "get",
        _PROJECT + "/volumes",
        "List persistent volumes",
        "volumes",
        _lister("volume"),
        "[Volume]",
    ),
    Endpoint(
        "createVolume",
        "post",
        _PROJECT + "/volumes",
        "Create a persistent volume",
        "volumes",
        _child_creator("volume", "vol", ("name", "sizeGb")),
        "Volume",
        _object(("name", "sizeGb"), name=_STR, sizeGb={"type": "integer"}, mountPath=_STR),
        status=201,
    ),
    Endpoint(
        "deleteVolume",
        "delete",
        "/volumes/{volumeId}",
        "Delete a persistent volume",
        "volumes",
        _remover("volume", "volumeId"),
        "Deleted",
    ),
    Endpoint(
        "listWebhooks",
        "get",
        _PROJECT + "/webhooks",
        "List notification webhooks",
        "webhooks",
        _lister("webhook"),
        "[Webhook]",
    ),
    Endpoint(
        "createWebhook",
        "post",
        _PROJECT + "/webhooks",
        "Create a webhook notified on deployment events",
        "webhooks",
        _child_creator("webhook", "whk", ("url",), events=["deployment.live"]),
        "Webhook",
        _object(("url",), url=_STR, events={"type": "array", "items": _STR}),
        status=201,
    ),
    Endpoint(
        "deleteWebhook",
        "delete",
        "/webhooks/{webhookId}",
        "Delete a webhook",
        "webhooks",
        _remover("webhook", "webhookId"),
        "Deleted",
    ),
    Endpoint(
        "listTeamMembers",
        "get",
        "/team/members",
        "List team members",
        "team",
        lambda store, call: list(store.table("member").values()),
        "[Member]",
    ),
    Endpoint(
        "inviteTeamMember",
        "post",
        "/team/members",
        "Invite a team member by email",
        "team",
        invite_member,
        "Member",
        _object(("email",), email=_STR, role={**_STR, "enum": ["admin", "developer"]}),
        status=201,
    ),
    Endpoint(
        "removeTeamMember",
        "delete",
        "/team/members/{memberId}",
        "Remove a team member",
        "team",
        _remover("member", "memberId"),
        "Deleted",
    ),
    Endpoint(
        "listRegions",
        "get",
        "/regions",
        "List available regions",
        "platform",
        lambda store, call: REGIONS,
        "[Region]",
    ),
    Endpoint(
        "getProjectMetrics",
        "get",
        _PROJECT + "/metrics",
        "Get a project's request rate and CPU usage",
        "platform",
        project_metrics,
        "Metrics",
    ),
    Endpoint(
        "getCurrentUser",
        "get",
        "/me",
        "Get the authenticated user",
        "platform",
        lambda store, call: {"id": "usr_me", "email": "owner@example.com"},
        "Member",
    ),
)
