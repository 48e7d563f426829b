"""The contract API (docs/contracts.md section 2) against a real runner and api-proxy."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.sandbox_runner.peers import ProxyStandIn, execute

TYPESCRIPT = """
interface Project { id: string; tags: Array<string> }
type Pair<T> = [T, T];
function first<T>(items: T[]): T | undefined { return items[0]; }
enum Colour { Red = "red" }
class Box<T> { constructor(private readonly value: T) {} get(): T { return this.value; } }
const project = { id: "p1", tags: ["a"] } as Project;
const pair: Pair<number> = [1, 2];
const n = <number>pair[1];
return { id: project.id, first: first<string>(project.tags), sum: pair[0] + n,
         colour: Colour.Red, boxed: new Box<number>(7).get(),
         nonNull: project!.id satisfies string };
"""


def test_typescript_syntax_runs_as_is(client: httpx.Client) -> None:
    answer = execute(client, TYPESCRIPT, language="typescript")
    assert answer["ok"], answer
    assert answer["result"] == {
        "id": "p1", "first": "a", "sum": 3, "colour": "red", "boxed": 7, "nonNull": "p1"
    }  # fmt: skip


def test_javascript_result_logs_and_duration(client: httpx.Client) -> None:
    code = "console.log('a', {b: 1}); console.error('oops'); return [1, 'two', null];"
    answer = execute(client, code, language="javascript")
    assert answer == {
        "ok": True,
        "result": [1, "two", None],
        "logs": ["a { b: 1 }", "oops"],
        "truncated": False,
        "durationMs": answer["durationMs"],
    }
    assert 0 < answer["durationMs"] < 10_000


def test_no_return_is_null(client: httpx.Client) -> None:
    assert execute(client, "const x = 1;")["result"] is None


def test_awaiting_api_itself_is_not_a_call(client: httpx.Client, proxy: ProxyStandIn) -> None:
    before = len(proxy.snapshot())
    assert execute(client, "const a = await api; return typeof a.echo;")["result"] == "function"
    assert len(proxy.snapshot()) == before


def test_thrown_error_is_user(client: httpx.Client) -> None:
    answer = execute(client, "throw new TypeError('bad input')")
    assert answer["error"] == {
        "kind": "user",
        "name": "TypeError",
        "message": "bad input",
        "origin": "isolate",
    }


def test_api_call_reaches_proxy_with_token(client: httpx.Client, proxy: ProxyStandIn) -> None:
    before = len(proxy.snapshot())
    answer = execute(client, "return await api.echo({id: 42});", token="cap-123")
    assert answer["result"] == {"id": 42}
    [call] = proxy.snapshot()[before:]
    assert (call.operation_id, call.params, call.token) == ("echo", {"id": 42}, "cap-123")


def test_generated_sdk_binds_api(client: httpx.Client) -> None:
    sdk = """
    export function createClient(call: (op: string, params?: unknown) => Promise<unknown>) {
      return { getProject: (params: { id: string }) => call("echo", { wrapped: params }) };
    }
    """
    answer = execute(client, "return await api.getProject({id: 'p'});", sdk=sdk)
    assert answer["result"] == {"wrapped": {"id": "p"}}


def test_backend_4xx_is_api_error(client: httpx.Client) -> None:
    answer = execute(client, "return await api.missing({id: 'x'});")
    assert answer["error"] == {
        "kind": "api",
        "name": "ApiError",
        "message": "project not found",
        "status": 404,
        "operationId": "missing",
        "origin": "isolate",
    }


def test_caught_api_error_exposes_status(client: httpx.Client) -> None:
    code = "try { await api.missing({}); } catch (e) { return [e instanceof ApiError, e.status]; }"
    assert execute(client, code)["result"] == [True, 404]


def test_backend_5xx_is_infra(client: httpx.Client) -> None:
    answer = execute(client, "return await api.broken({});")
    assert answer["error"]["kind"] == "infra"


def test_rejected_token_is_infra(client: httpx.Client) -> None:
    answer = execute(client, "return await api.echo({});", token="expired")
    assert answer["error"]["kind"] == "infra"


def test_api_call_cap(client: httpx.Client, proxy: ProxyStandIn) -> None:
    before = len(proxy.snapshot())
    code = "for (let i = 0; i < 100; i++) await api.echo({i});"
    answer = execute(client, code, maxApiCalls=3)
    assert answer["error"]["kind"] == "user"
    assert answer["error"]["name"] == "ApiCallLimitError"
    assert len(proxy.snapshot()) - before == 3


def test_forged_api_error_is_still_user(client: httpx.Client) -> None:
    code = "const e = new Error('x'); e.name = 'ApiError'; e.status = 404; throw e;"
    assert execute(client, code)["error"]["kind"] == "user"


def test_output_is_capped_with_marker(client: httpx.Client) -> None:
    code = "for (let i = 0; i < 1000; i++) console.log('x'.repeat(1000)); return 'done';"
    answer = execute(client, code)
    assert answer["ok"] and answer["truncated"]
    assert answer["result"] == "done"
    assert answer["logs"][-1].startswith("[output truncated")
    assert sum(len(line) for line in answer["logs"]) < 70_000


def test_large_result_is_truncated_visibly(client: httpx.Client) -> None:
    answer = execute(client, "return 'y'.repeat(200000);")
    assert answer["truncated"]
    assert "result truncated" in answer["result"]


def test_unserializable_result_is_user_error(client: httpx.Client) -> None:
    assert execute(client, "return 10n;")["error"]["kind"] == "user"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "code"),
        ({"code": 1}, "code"),
        ({"code": "1", "language": "python"}, "language"),
        ({"code": "1", "timeoutSeconds": -1}, "timeoutSeconds"),
        ({"code": "1", "timeoutSeconds": 99999}, "timeoutSeconds"),
        ({"code": "1", "maxApiCalls": "many"}, "maxApiCalls"),
        ([1, 2], "body"),
    ],
)
def test_malformed_request_names_the_field(client: httpx.Client, body: object, field: str) -> None:
    response = client.post("/v1/executions", json=body)
    assert 400 <= response.status_code < 500
    assert field in response.json()["error"]["message"]


def test_invalid_json_is_400(client: httpx.Client) -> None:
    response = client.post("/v1/executions", content=b"{not json")
    assert response.status_code == 400


def test_health_and_metrics(client: httpx.Client) -> None:
    assert client.get("/health").status_code == 200
    execute(client, "return 1")
    text = client.get("/metrics").text
    assert 'sandbox_executions_total{error_kind="none",outcome="ok"}' in text
    for name in ("sandbox_pool_ready", "sandbox_queue_depth", "sandbox_timeout_kills_total"):
        assert name in text


def test_every_console_method_is_captured(client: httpx.Client) -> None:
    code = "console.info(1); console.warn(2); console.debug(3); console.dir({a: 1});"
    code += "console.table([1]); console.assert(false, 'no'); console.assert(true, 'yes');"
    assert execute(client, code)["logs"] == [
        "1",
        "2",
        "3",
        "{ a: 1 }",
        "[ 1 ]",
        "Assertion failed: no",
    ]


def test_logs_written_before_a_timeout_are_returned(client: httpx.Client) -> None:
    answer = execute(client, "console.log('before'); for (;;) {}", timeoutSeconds=1)
    assert answer["error"]["kind"] == "timeout"
    assert answer["logs"] == ["before"]
