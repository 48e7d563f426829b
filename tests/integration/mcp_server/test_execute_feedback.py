"""What execute tells the model: errors at its own line, types checked first, polling for free."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster.mcp_servers import mcp_session, sample_backend
from mcp_server.typecheck import default_tsc
from tests.integration.mcp_server.conftest import Stack, own_v2

pytestmark = pytest.mark.slow


async def _failed_execute(url: str, code: str) -> dict[str, object]:
    async with mcp_session(url) as session:
        result = await session.call_tool("execute", {"code": code})
    assert result.is_error, result.content
    error = result.structured_content["error"]
    assert isinstance(error, dict)
    return error


async def test_a_syntax_error_points_at_the_models_line(stack: Stack) -> None:
    error = await _failed_execute(stack.v2.url, "const a = 1;\nconst b = ;\nreturn a;")
    assert (error["kind"], error["name"]) == ("user", "SyntaxError")
    message = str(error["message"])
    assert "at line 2, column 11" in message and "2 | const b = ;" in message
    assert "data:" not in message and "%20" not in message


@pytest.mark.skipif(default_tsc() is None, reason="TypeScript (npm ci) is not installed")
async def test_type_errors_are_reported_at_the_models_line_before_anything_runs(
    stack: Stack, tmp_path: Path
) -> None:
    code = (
        'const project = await api.createProject({ body: { name: "typed" } });\n'
        "return await api.createDeployment({ projectId: project.id, body: { gitUrl: 42 } });"
    )
    with own_v2(tmp_path, "typed", stack.backend.url, typeCheck=True, tscPath=default_tsc()) as (
        _,
        server,
    ):
        error = await _failed_execute(server.url, code)
        async with mcp_session(server.url) as session:
            fine = await session.call_tool(
                "execute", {"code": "await sleep(1);\nreturn (await api.listRegions()).length;"}
            )
    assert (error["kind"], error["name"]) == ("user", "TypeCheckError")
    message = str(error["message"])
    assert "line 2, column 68: Type 'number' is not assignable to type 'string'." in message
    assert "nothing ran" in message
    assert not fine.is_error, fine.content


async def test_polling_a_two_minute_build_in_one_execute_fits_the_default_caps(
    tmp_path: Path,
) -> None:
    """The seed's loop (a read every 250 ms) over a 120 s build: ~120 paced polls, 3 calls."""
    code = """
    const project = await api.createProject({ body: { name: "slow-build" } });
    let d = await api.createDeployment({
      projectId: project.id, body: { gitUrl: "https://github.com/vercel/next.js" },
    });
    let polls = 0;
    while (d.status !== "live" && d.status !== "failed") {
      await sleep(250);
      d = await api.getDeployment({ deploymentId: d.id });
      polls += 1;
    }
    return { status: d.status, polls };
    """
    backend = sample_backend(tmp_path, "slow-backend", "--build-seconds", "120").start()
    try:
        with own_v2(tmp_path, "polling", backend.url) as (_, server):
            async with mcp_session(server.url) as session:
                outcome = (await session.call_tool("execute", {"code": code})).structured_content
                for _ in range(12):  # bounded: each poll waits up to 60 s, the build takes 120 s
                    if outcome["state"] != "running":
                        break
                    polled = await session.call_tool(
                        "pollJob", {"jobId": outcome["jobId"], "waitSeconds": 60}
                    )
                    outcome = polled.structured_content
    finally:
        backend.stop()
    assert outcome["state"] == "succeeded", outcome
    assert outcome["result"]["status"] == "live"
    assert outcome["result"]["polls"] > 50  # more reads than the API-call cap allows calls
