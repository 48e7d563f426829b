"""Hostile programs: each ends blocked with the right error kind and the runner stays healthy."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.sandbox_runner.peers import ProxyStandIn, execute, free_port


@dataclass(frozen=True)
class Hostile:
    name: str
    code: str
    kind: str  # the error kind the execution must end with
    timeout: float = 5.0
    error_name: str | None = None


class Trap:
    """A loopback listener that must never be reached: counts accepted connections."""

    def __init__(self) -> None:
        self.port = free_port()
        self.accepted = 0
        self._sock = socket.create_server(("127.0.0.1", self.port))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@pytest.fixture(scope="module")
def trap() -> Iterator[Trap]:
    listener = Trap()
    yield listener
    listener.close()


MARKER = Path("/tmp/sandbox-runner-hostile-write")

HOSTILE = [
    Hostile("read file", "return Deno.readTextFileSync('/etc/passwd');", "user"),
    Hostile("read proc environ", "return Deno.readTextFileSync('/proc/self/environ');", "user"),
    Hostile(
        "import file as text",
        "return (await import('file:///etc/hostname', {with: {type: 'text'}})).default;",
        "user",
    ),
    Hostile(
        "eval import of a file",
        "const text = eval(\"import('file:///etc/hostname', {with: {type: 'text'}})\");"
        "return (await text).default;",
        "user",
    ),
    Hostile(
        "node fs", "return (await import('node:fs')).readFileSync('/etc/hostname', 'utf8');", "user"
    ),
    Hostile("read env", "return Deno.env.get('PATH') ?? Deno.env.toObject();", "user"),
    Hostile(
        "node env",
        "return (await import('node:process')).env.PATH;",
        "user",
    ),
    Hostile("subprocess", "return new Deno.Command('id').outputSync().code;", "user"),
    Hostile(
        "node child_process",
        "return (await import('node:child_process')).execSync('id').toString();",
        "user",
    ),
    Hostile("kill the runner", "Deno.kill(Deno.ppid ?? 1, 'SIGKILL'); return 'sent';", "user"),
    Hostile("fetch another host", "return (await fetch('http://example.com/')).status;", "user"),
    Hostile(
        "fetch loopback port", "return (await fetch('http://127.0.0.1:TRAP/')).status;", "user"
    ),
    Hostile(
        "fetch localhost alias",
        "return (await fetch('http://localhost:PROXY/proxy/v1/call')).status;",
        "user",
    ),
    Hostile(
        "tcp connect loopback",
        "const c = await Deno.connect({hostname: '127.0.0.1', port: TRAP}); return 'open';",
        "user",
    ),
    Hostile("listen", "Deno.listen({port: 0}); return 'listening';", "user"),
    Hostile("list the working directory", "return [...Deno.readDirSync('.')].length;", "user"),
    Hostile("open a KV store", "return await Deno.openKv();", "user"),
    Hostile("dns lookup", "return await Deno.resolveDns('example.com', 'A');", "user"),
    Hostile(
        "websocket",
        "new WebSocket('ws://127.0.0.1:TRAP/');"
        "await new Promise((r) => setTimeout(r, 300)); return 'open';",
        "user",
    ),
    Hostile(
        "remote import", "return await import('https://deno.land/std@0.224.0/version.ts');", "user"
    ),
    Hostile("npm import", "return await import('npm:left-pad');", "user"),
    Hostile("write file", f"Deno.writeTextFileSync('{MARKER}', 'x'); return 'written';", "user"),
    Hostile(
        "ffi",
        "const libc = Deno.dlopen('libc.so.6', {getpid: {parameters: [], result: 'i32'}});"
        "return libc.symbols.getpid();",
        "user",
    ),
    Hostile("Deno.exit", "Deno.exit(0);", "user"),
    Hostile("node process.exit", "(await import('node:process')).exit(0);", "user"),
    Hostile(
        "worker with more permissions",
        "const options = {type: 'module', deno: {permissions: {read: true}}};"
        "new Worker('data:application/javascript,postMessage(1)', options);"
        "await new Promise((r) => setTimeout(r, 300)); return 'escalated';",
        "user",
    ),
    Hostile(
        "heap bomb",
        "const a = []; for (;;) a.push(new Array(1e6).fill(1.5));",
        "user",
        20,
        "HeapLimitError",
    ),
    Hostile(
        "off-heap memory bomb",
        "const keep = [];for (;;) { const b = new Uint8Array(32 << 20); b.fill(1); keep.push(b); }",
        "user",
        20,
        "MemoryLimitError",
    ),
    Hostile(
        "one huge buffer",  # refused by RLIMIT_DATA before the watchdog could see it
        "const b = new Uint8Array(3 * 2 ** 30); b.fill(1); return b.length;",
        "user",
        error_name="RangeError",
    ),
    Hostile("busy loop", "for (;;) {}", "timeout", 1),
    Hostile(
        "infinite promise chain",
        # Not returning the inner promise: the chain never grows, it only starves the loop.
        "const spin = () => { Promise.resolve().then(spin); }; spin(); await new Promise(() => {});",
        "timeout",
        1,
    ),
    Hostile("never settles", "await new Promise(() => {});", "user", 5),
    Hostile(
        "stdout flood past the shim",
        "const b = new TextEncoder().encode('y'.repeat(65536)); for (;;) Deno.stdout.writeSync(b);",
        "user",
        error_name="OutputLimitError",
    ),
    Hostile(
        "stdout frame forgery",
        'const forged = \'@@READY\\nabc {"t":"result","ok":true}\\n\';'
        "Deno.stdout.writeSync(new TextEncoder().encode(forged)); throw new Error('real');",
        "user",
    ),
    Hostile(
        "partial stdout line before the result",
        "Deno.stdout.writeSync(new TextEncoder().encode('no newline')); throw new Error('seen');",
        "user",
        error_name="Error",
    ),
    Hostile(
        "throws an undescribable value",
        "throw { get name() { throw new Error('x'); }, toString() { throw new Error('y'); } };",
        "user",
        error_name="Error",
    ),
    Hostile(
        "uncaught in timer",
        "setTimeout(() => { throw new Error('late'); }, 0);"
        "await new Promise((r) => setTimeout(r, 200));",
        "user",
    ),
    Hostile(
        "unhandled rejection",
        "Promise.reject(new Error('nobody listens'));await new Promise((r) => setTimeout(r, 200));",
        "user",
    ),
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_hostile_program_is_blocked(
    client: httpx.Client, proxy: ProxyStandIn, trap: Trap, hostile: Hostile
) -> None:
    code = hostile.code.replace("TRAP", str(trap.port)).replace("PROXY", str(proxy.port))
    started = time.monotonic()
    answer = execute(client, code, timeoutSeconds=hostile.timeout)
    assert not answer["ok"], answer
    assert answer["error"]["kind"] == hostile.kind, answer
    assert hostile.error_name in (None, answer["error"]["name"]), answer
    assert time.monotonic() - started < hostile.timeout + 10
    assert trap.accepted == 0
    assert not MARKER.exists()
    assert client.get("/health").status_code == 200
    assert execute(client, "return 'still fine';")["result"] == "still fine"


def test_tampering_with_globals_cannot_redirect_api_calls(
    client: httpx.Client, proxy: ProxyStandIn
) -> None:
    code = """
    JSON.stringify = () => '{"operationId":"broken"}';
    JSON.parse = () => ({ status: 200, body: 'forged' });
    globalThis.fetch = async () => new Response('{"status":200,"body":"forged"}');
    Reflect.apply = () => 0;
    Object.defineProperty(Object.prototype, 'operationId', { get: () => 'broken' });
    const answer = await api.echo({real: true});
    return answer.real === true ? 'real' : 'forged';
    """
    before = len(proxy.snapshot())
    answer = execute(client, code, token="tampered")
    assert answer["result"] == "real", answer
    [call] = proxy.snapshot()[before:]
    assert (call.operation_id, call.params, call.token) == ("echo", {"real": True}, "tampered")


def test_executions_share_nothing(client: httpx.Client) -> None:
    execute(client, "localStorage.setItem('k', 'A-secret'); globalThis.shared = 'A'; return 1;")
    answer = execute(client, "return [localStorage.getItem('k'), globalThis.shared ?? null];")
    assert answer["result"] == [None, None]


def test_token_is_not_visible_to_code(client: httpx.Client) -> None:
    code = """
    const seen = [JSON.stringify(Deno.args), Object.getOwnPropertyNames(globalThis).join(',')];
    return seen.join('|');
    """
    answer = execute(client, code, token="very-secret-token")
    assert "very-secret-token" not in answer["result"]


def test_concurrent_execution_cannot_see_another_token(
    client: httpx.Client, proxy: ProxyStandIn
) -> None:
    proxy.release.clear()
    holder = threading.Thread(
        target=execute, args=(client, "return await api.hold({});"), kwargs={"token": "A-secret"}
    )
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while not any(call.token == "A-secret" for call in proxy.snapshot()):
            assert time.monotonic() < deadline, "execution A never reached the proxy"
            time.sleep(0.01)
        probe = """
        const seen = [JSON.stringify(Deno.args), Object.getOwnPropertyNames(globalThis).join(),
                      String(localStorage.length)];
        for (const path of ['/proc/' + Deno.ppid + '/environ', '/proc/' + Deno.ppid + '/cmdline']) {
          try { seen.push(Deno.readTextFileSync(path)); } catch (e) { seen.push(e.name); }
        }
        return seen.join('|');
        """
        answer = execute(client, probe, token="B-token")
        assert answer["ok"], answer
        assert "A-secret" not in answer["result"]
        assert "NotCapable" in answer["result"]
    finally:
        proxy.release.set()
        holder.join(timeout=30)


# Code that tampers with the shim's own runtime: each must end readable, never a 500, and never
# leak the frame nonce or the token. (ok, result) is what the answer must say.
TAMPERING = [
    ("toJSON on every object", "Object.prototype.toJSON = () => 'x'; return {a: 1};", True, "x"),
    (
        "toJSON throws",
        "Object.prototype.toJSON = () => { throw new Error('no'); }; return {};",
        False,
        None,
    ),
    ("stringify replaced", "JSON.stringify = () => '{'; return [1];", True, [1]),
    (
        "lone surrogate log and result",
        "console.log('a\\ud800'); return 'b\\udfff';",
        True,
        "b\ufffd",
    ),
    (
        "subarray reads the frames",
        """
        let seen = '';
        const slice = Uint8Array.prototype.slice;
        Uint8Array.prototype.subarray = function (...a) {
          seen += new TextDecoder().decode(this); return slice.apply(this, a); };
        Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), 'length',
          {get() { seen += new TextDecoder().decode(slice.call(this)); return 0; }});
        console.log('hello');
        const nonce = /([0-9a-f]{32}) /.exec(seen);
        if (nonce) Deno.stdout.writeSync(new TextEncoder().encode(
          '\\n' + nonce[1] + ' {"t":"result","ok":false,"error":{"kind":"infra","name":"X","message":"forged"}}\\n'));
        return nonce ? 'leaked' : 'safe';
        """,
        True,
        "safe",
    ),
    (
        "getters on Object.prototype read fetch options",
        """
        const seen = [];
        for (const key of ['signal', 'redirect', 'client', 'window', 'integrity', 'keepalive',
                           'cache', 'credentials', 'mode', 'referrer', 'duplex', 'priority']) {
          Object.defineProperty(Object.prototype, key, {configurable: true,
            get() { seen.push(JSON.stringify(this) ?? ''); return undefined; }});
        }
        await api.echo({});
        return seen.join('|');
        """,
        True,
        "",
    ),
    (
        "error getters on Object.prototype",
        "Object.defineProperty(Object.prototype, 'error', {get() { return {kind: 'infra'}; }});"
        "return await api.echo({fine: 1});",
        True,
        {"fine": 1},
    ),
    ("throwing toString", "throw {toString() { throw 1; }};", False, None),
    (
        "forged frames with guessed nonces",
        'for (let i = 0; i < 100; i++) console.log(`${\'0\'.repeat(32)} {"t":"result","ok":true}`); return 1;',
        True,
        1,
    ),
]


@pytest.mark.parametrize(("name", "code", "ok", "result"), TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampering_with_the_shim_ends_readable(
    client: httpx.Client, name: str, code: str, ok: bool, result: object
) -> None:
    response = client.post(
        "/v1/executions", json={"code": code, "token": "secret-token-77", "timeoutSeconds": 10}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is ok, answer
    assert "secret-token-77" not in response.text
    if ok:
        assert answer["result"] == result
    else:
        assert answer["error"]["kind"] == "user", answer
    assert execute(client, "return 'still fine';")["result"] == "still fine"


# Awaiting a promise whose `constructor` is not Promise calls its `then`: the code rewrites the
# api-proxy's answer on its way into the shim.
FORGED_INFRA = """
const then = Promise.prototype.then;
Object.defineProperty(Promise.prototype, 'constructor', {get() { return Object; }});
Promise.prototype.then = function (resolve, reject) {
  return then.call(this, (value) => resolve(typeof value === 'string'
    ? '{"error": {"kind": "infra", "message": "forged"}}' : value), reject);
};
return await api.echo({});
"""


def test_a_claimed_infra_error_is_marked_as_the_isolates(client: httpx.Client) -> None:
    """The runtime misreads a good answer as a 5xx: reported, but as the isolate's claim."""
    answer = execute(client, FORGED_INFRA)
    assert answer["error"]["origin"] == "isolate"
