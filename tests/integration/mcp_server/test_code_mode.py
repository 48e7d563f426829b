"""Code Mode (v2) through the official MCP client over real HTTP, against real processes."""

from __future__ import annotations

import json

import pytest

from devcluster.mcp_servers import NATIVES, USER_TOKEN, mcp_session
from tests.integration.mcp_server.conftest import Stack, http_get, metric_value, set_faults

pytestmark = pytest.mark.slow

SAMPLE_TASKS = [
    ("create a new project", "createProject"),
    ("deploy my app from a git repository url", "createDeployment"),
    ("check whether the deployment is live and get its url", "getDeployment"),
    ("show all my projects", "listProjects"),
    ("rename a project", "updateProject"),
    ("delete a project", "deleteProject"),
    ("cancel a running deployment", "cancelDeployment"),
    ("roll back to a previous deployment", "rollbackProject"),
    ("see the runtime logs of a deployment", "getDeploymentLogs"),
    ("read the build output logs", "getBuildLogs"),
    ("set an environment variable", "setEnvVar"),
    ("list env vars of a project", "listEnvVars"),
    ("remove an environment variable", "deleteEnvVar"),
    ("set many environment variables at once", "bulkSetEnvVars"),
    ("attach a custom domain", "addDomain"),
    ("verify DNS of a domain", "verifyDomain"),
    ("remove a custom domain", "deleteDomain"),
    ("make a domain the primary one", "setPrimaryDomain"),
    ("scale the project to 3 instances", "scaleProject"),
    ("restart the app", "restartProject"),
    ("create a persistent volume", "createVolume"),
    ("invite a teammate by email", "inviteTeamMember"),
    ("which regions are available", "listRegions"),
    ("cpu usage and request rate of a project", "getProjectMetrics"),
    ("get the authenticated user", "getCurrentUser"),
    ("status of a build job", "getBuildJob"),
]

COOLIFY_TASKS = [
    ("list all applications", "listApplications"),
    ("create an application from a public git repository", "createPublicApplication"),
    ("create an application from a Dockerfile", "createDockerfileApplication"),
    ("deploy an application from a docker image", "createDockerimageApplication"),
    ("delete an application", "deleteApplicationByUuid"),
    ("restart an application", "restartApplicationByUuid"),
    ("stop an application", "stopApplicationByUuid"),
    ("list environment variables of an application", "listEnvsByApplicationUuid"),
    ("create a PostgreSQL database", "createDatabasePostgresql"),
    ("create a redis database", "createDatabaseRedis"),
    ("list databases", "listDatabases"),
    ("get a deployment by uuid", "getDeploymentByUuid"),
    ("trigger a deploy by tag or uuid", "deployByTagOrUuid"),
    ("get the Coolify version", "version"),
    ("create a project", "createProject"),
    ("add an ssh private key", "createPrivateKey"),
    ("list servers", "listServers"),
    ("validate a server connection", "validateServerByUuid"),
    ("domains of a server", "getDomainsByServerUuid"),
    ("members of the current team", "getCurrentTeamMembers"),
    ("create a service", "createService"),
    ("execute a command in an application container", "executeCommandApplication"),
    ("enable the API", "enableApi"),
    ("health check", "healthcheck"),
]


async def test_tools_list_has_code_mode_tools_and_natives(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {"search", "execute", "pollJob", *NATIVES}
    for name in ("search", "execute", "pollJob"):
        assert tools[name].input_schema["type"] == "object"
        assert tools[name].output_schema is not None


@pytest.mark.parametrize(("server", "tasks"), [("v2", SAMPLE_TASKS), ("coolify", COOLIFY_TASKS)])
async def test_search_finds_the_operation_for_plain_tasks(
    stack: Stack, server: str, tasks: list[tuple[str, str]]
) -> None:
    assert len(tasks) >= 20
    misses = []
    async with mcp_session(getattr(stack, server).url) as session:
        for task, expected in tasks:
            result = await session.call_tool("search", {"query": task, "limit": 3})
            assert not result.is_error, result.content
            found = [match["operationId"] for match in result.structured_content["results"]]
            if expected not in found:
                misses.append((task, expected, found))
    assert not misses


async def test_search_result_carries_a_typescript_signature(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        result = await session.call_tool("search", {"query": "deploy from git"})
    top = result.structured_content["results"][0]
    assert top["operationId"] == "createDeployment"
    assert "createDeployment(params: {" in top["signature"]
    assert "gitUrl: string;" in top["signature"]
    assert "Promise<Deployment>" in top["signature"]
    # What a Deployment holds, so the model need not guess `status` and `url`.
    assert "url?: string | null; // Public URL, set once the deployment is live" in top["returns"]


async def test_search_without_words_browses_tags_then_operations(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        tags = await session.call_tool("search", {})
        listed = await session.call_tool("search", {"tag": "deployments"})
    assert not tags.is_error and not listed.is_error, (tags.content, listed.content)
    assert "deployments: 7 operations" in tags.structured_content["tags"]
    assert (
        "getDeployment: GET /deployments/{deploymentId}: Get a deployment's status and URL"
        in (listed.structured_content["operations"])
    )


async def test_execute_runs_code_calling_two_operations(stack: Stack) -> None:
    code = """
    const project = await api.createProject({ body: { name: "two-ops" } });
    const same = await api.getProject({ projectId: project.id });
    console.log("created", same.id);
    return { id: same.id, name: same.name };
    """
    async with mcp_session(stack.v2.url) as session:
        result = await session.call_tool("execute", {"code": code})
    assert not result.is_error, result.content
    out = result.structured_content
    assert out["state"] == "succeeded"
    assert out["result"]["name"] == "two-ops"
    assert out["logs"] == [f"created {out['result']['id']}"]


async def test_long_execute_becomes_a_job_that_poll_job_returns(stack: Stack) -> None:
    code = "await new Promise((r) => setTimeout(r, 3500)); return { done: true };"
    async with mcp_session(stack.v2.url) as session:
        started = await session.call_tool("execute", {"code": code})
        assert started.structured_content["state"] == "running"
        job_id = started.structured_content["jobId"]
        polled = None
        for _ in range(10):  # bounded: each poll waits at most 2 s
            polled = await session.call_tool("pollJob", {"jobId": job_id, "waitSeconds": 2})
            if polled.structured_content["state"] != "running":
                break
    assert polled is not None and not polled.is_error, polled
    assert polled.structured_content["state"] == "succeeded"
    assert polled.structured_content["result"] == {"done": True}


async def test_native_tool_calls_the_backend_directly(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        await session.call_tool(
            "execute", {"code": 'return await api.createProject({body: {name: "native"}});'}
        )
        result = await session.call_tool("listProjects", {"limit": 50})
    assert not result.is_error, result.content
    assert "native" in [project["name"] for project in result.structured_content["body"]]


async def test_scripted_client_deploys_from_git_in_at_most_six_calls(stack: Stack) -> None:
    """No model: the calls a model would make, counted."""
    calls = 0
    async with mcp_session(stack.v2.url) as session:

        async def call(tool: str, arguments: dict[str, object]) -> dict[str, object]:
            nonlocal calls
            calls += 1
            result = await session.call_tool(tool, arguments)
            assert not result.is_error, result.content
            return result.structured_content

        found = await call("search", {"query": "create project and deploy it from a git url"})
        names = {match["operationId"] for match in found["results"]}
        assert {"createProject", "createDeployment"} <= names
        code = """
        const project = await api.createProject({ body: { name: "nextjs-demo" } });
        let d = await api.createDeployment({
          projectId: project.id, body: { gitUrl: "https://github.com/vercel/next.js" },
        });
        while (d.status !== "live" && d.status !== "failed") {
          await new Promise((r) => setTimeout(r, 250));
          d = await api.getDeployment({ deploymentId: d.id });
        }
        return { status: d.status, url: d.url };
        """
        outcome = await call("execute", {"code": code})
        while outcome["state"] == "running" and calls < 6:
            outcome = await call("pollJob", {"jobId": outcome["jobId"], "waitSeconds": 10})
    assert outcome["state"] == "succeeded"
    assert outcome["result"] == {"status": "live", "url": "https://nextjs-demo.sample-platform.app"}
    assert calls <= 6


async def test_backend_404_is_an_api_error_the_code_can_catch(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        thrown = await session.call_tool(
            "execute", {"code": 'return await api.getProject({ projectId: "prj_missing" });'}
        )
        caught = await session.call_tool(
            "execute",
            {
                "code": """
                try { await api.getProject({ projectId: "prj_missing" }); }
                catch (e) { return { name: e.name, status: e.status, op: e.operationId }; }
                """
            },
        )
    assert thrown.is_error
    error = thrown.structured_content["error"]
    assert (error["kind"], error["status"], error["operationId"]) == ("api", 404, "getProject")
    assert "not found" in thrown.content[0].text
    assert caught.structured_content["result"] == {
        "name": "ApiError",
        "status": 404,
        "op": "getProject",
    }
    metrics = (await http_get(f"{stack.v2.url}/metrics")).text
    assert metric_value(metrics, "mcp_tool_calls_total", tool="execute", error_kind="api") >= 1
    assert metric_value(metrics, "mcp_api_errors_total", operation="getProject") >= 2


async def test_backend_503_is_infra(stack: Stack) -> None:
    await set_faults(stack.backend, error_status=503)
    try:
        async with mcp_session(stack.v2.url) as session:
            executed = await session.call_tool(
                "execute", {"code": "return await api.listRegions();"}
            )
            native = await session.call_tool("listProjects", {})
    finally:
        await set_faults(stack.backend)
    assert executed.is_error and executed.structured_content["error"]["kind"] == "infra"
    assert native.is_error and native.structured_content["error"]["kind"] == "infra"
    metrics = (await http_get(f"{stack.v2.url}/metrics")).text
    assert (
        metric_value(
            metrics, "mcp_tool_calls_total", version="v2", tool="listProjects", error_kind="infra"
        )
        >= 1
    )


async def test_dropped_backend_connection_is_infra(stack: Stack) -> None:
    await set_faults(stack.backend, drop_rate=1.0)
    try:
        async with mcp_session(stack.v2.url) as session:
            native = await session.call_tool("getDeployment", {"deploymentId": "dep_1"})
    finally:
        await set_faults(stack.backend)
    assert native.is_error and native.structured_content["error"]["kind"] == "infra"


async def test_user_code_error_and_call_cap_are_user_errors(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        thrown = await session.call_tool("execute", {"code": 'throw new TypeError("boom");'})
        unknown = await session.call_tool("execute", {"code": "return await api.noSuchOp();"})
    assert thrown.structured_content["error"]["kind"] == "user"
    assert "boom" in thrown.content[0].text
    assert unknown.structured_content["error"]["kind"] == "user"
    assert "search" in unknown.content[0].text


async def test_metrics_follow_the_contract(stack: Stack) -> None:
    async with mcp_session(stack.v2.url) as session:
        await session.call_tool("search", {"query": "list projects"})
    text = (await http_get(f"{stack.v2.url}/metrics")).text
    assert (
        metric_value(
            text,
            "mcp_tool_calls_total",
            version="v2",
            tool="search",
            outcome="ok",
            error_kind="none",
        )
        >= 1
    )
    assert metric_value(text, "mcp_tool_call_duration_seconds_count", tool="search") >= 1
    assert "mcp_execution_wall_timeouts_total" in text
    assert metric_value(text, "mcp_api_calls_total", operation="createProject") >= 1


async def test_user_token_never_reaches_the_sandbox_or_the_logs(stack: Stack) -> None:
    code = """
    const me = await api.getCurrentUser();
    console.log(JSON.stringify(Object.keys(globalThis)));
    return me;
    """
    async with mcp_session(stack.v2.url) as session:
        result = await session.call_tool("execute", {"code": code})
    # The backend demands the user's token, so the call working proves it was added by the proxy.
    assert not result.is_error, result.content
    sent = [json.loads(body) for body in stack.relay.bodies if body]
    assert sent and all("token" in body for body in sent)
    assert all(USER_TOKEN not in json.dumps(body) for body in sent)
    assert all(USER_TOKEN not in json.dumps(headers) for headers in stack.relay.headers)
    assert USER_TOKEN not in json.dumps(result.structured_content)
    for server in (stack.v2, stack.runner, stack.v1):
        assert USER_TOKEN not in server.log_text()


async def test_readyz_and_healthz(stack: Stack) -> None:
    assert (await http_get(f"{stack.v2.url}/healthz")).status_code == 200
    assert (await http_get(f"{stack.v2.url}/readyz")).status_code == 200
    assert (await http_get(f"{stack.v1.url}/readyz")).json()["ready"] is True
