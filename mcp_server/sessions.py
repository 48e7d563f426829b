"""One conversation, one version: the pins that let a gateway keep a client on this version.

v1 and v2 list different tools, so a conversation that met both would fail. Every client gets
a pin that names this server's version, signed (mcp_server/signing.py) so that any replica of
the version accepts it and nothing is kept in memory:

- a handshake-era client (protocol 2025-11-25 and earlier) gets `Mcp-Session-Id:
  <version>.<random>.<mac>` on its `initialize` answer, and sends it on every request after;
- a sessionless client (2026-07-28, no handshake, no session) gets a cookie
  `codemode-version=<version>.<random>.<mac>` on its first answer, which a client keeping
  cookies (the Python SDK's does) sends back.

The operator's HTTPRoute has one rule per version matching either pin, ahead of the weighted
rule that places new conversations. A request pinned to another version (the route moved it:
rollback, abort, the end of a drain) or carrying a forged pin is not run:
- a session id: 404, the spec's "session not found", so the client starts a new session;
- a cookie: 409 with JSON-RPC error VERSION_CHANGED and a fresh cookie of this version; the
  client lists the tools again. `server/discover` starts a conversation: it is just re-pinned.
Refused requests never reach a tool, so the rollout's metrics do not count them.
"""

from __future__ import annotations

import json
from typing import Any

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server.metrics import Metrics
from mcp_server.signing import Purpose, Signer, random_part

SESSION_HEADER = "mcp-session-id"
COOKIE = "codemode-version"
VERSION_HEADER = b"codemode-version"  # on every answer: which version served it
# JSON-RPC error of a sessionless request pinned to another version; from the band the MCP spec
# leaves to implementations (-32000..-32019), clear of the SDK's own -32000 and -32001.
VERSION_CHANGED = -32010
DISCOVER = "server/discover"
_PEEK_LIMIT = 64 * 1024  # an initialize request is small; larger bodies are passed on unread


class Pins:
    """Mint and check the pins of one version."""

    def __init__(self, signer: Signer, version: str) -> None:
        self.signer, self.version = signer, version

    def mint(self, purpose: Purpose) -> str:
        return self.signer.sign(purpose, f"{self.version}.{random_part()}")

    def owns(self, purpose: Purpose, token: str) -> bool:
        payload = self.signer.verify(purpose, token)
        return payload is not None and payload.split(".", 1)[0] == self.version


def _claimed(token: str) -> str:
    """The version a pin says it belongs to (unverified: for messages only)."""
    claimed = token.split(".", 1)[0]
    return claimed if claimed.isalnum() and len(claimed) <= 16 else "unknown"


def _cookie(headers: Headers) -> str | None:
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and value:
                return value
    return None


async def _answer(send: Send, status: int, body: dict[str, Any] | None, extra: list[Any]) -> None:
    content = json.dumps(body).encode() if body is not None else b""
    headers = [(b"content-length", str(len(content)).encode()), *extra]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _rpc_error(code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}


def _adding(send: Send, headers: list[tuple[bytes, bytes]], success_only: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and not (
            success_only and message["status"] >= 400
        ):
            message = {**message, "headers": [*message.get("headers", []), *headers]}
        await send(message)

    return wrapped


async def _peek_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The body (None if larger than the peek limit) and a receive that replays it."""
    buffered: list[Message] = []
    size, more = 0, True
    while more and size <= _PEEK_LIMIT:
        message = await receive()
        buffered.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = message.get("more_body", False)

    async def replay() -> Message:
        return buffered.pop(0) if buffered else await receive()

    complete = not more and size <= _PEEK_LIMIT
    body = b"".join(m.get("body", b"") for m in buffered) if complete else None
    return body, replay


def _is_initialize(body: bytes | None) -> bool:
    try:
        message = json.loads(body) if body else None
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("method") == "initialize"


class SessionPinning:
    """ASGI middleware in front of the SDK's Streamable HTTP app (which stays stateless)."""

    def __init__(self, app: ASGIApp, pins: Pins, metrics: Metrics) -> None:
        self.app, self.pins, self.metrics = app, pins, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        send = _adding(send, [(VERSION_HEADER, self.pins.version.encode())], success_only=False)
        protocol = headers.get("mcp-protocol-version")
        # The SDK's own era routing: a known handshake version, or none, is the legacy transport.
        if protocol is None or protocol in HANDSHAKE_PROTOCOL_VERSIONS:
            await self._handshake_era(scope, receive, send, headers)
        else:
            await self._sessionless(scope, receive, send, headers)

    def _count(self, era: str, pin: str) -> None:
        self.metrics.session_pins.labels(self.pins.version, era, pin).inc()

    async def _handshake_era(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        method = scope["method"]
        token = headers.get(SESSION_HEADER)
        if token is not None and not self.pins.owns("session", token):
            self._count("session", "foreign")
            message = (
                f"Session not found: this MCP server is {self.pins.version}, the session was "
                f"started on {_claimed(token)}. Start a new session (initialize again)."
            )
            await _answer(send, 404, _rpc_error(-32600, message), [])
            return
        if method in ("GET", "DELETE"):
            # Stateless: no stream to open (nothing is ever pushed), no state to delete.
            if token is not None:
                self._count("session", "own")
            await _answer(send, 405, None, [(b"allow", b"POST")])
            return
        if token is not None or method != "POST":
            self._count("session", "own" if token is not None else "none")
            await self.app(scope, receive, send)
            return
        body, replay = await _peek_body(receive)
        if not _is_initialize(body):
            self._count("session", "none")
            await self.app(scope, replay, send)
            return
        self._count("session", "new")
        minted = [(SESSION_HEADER.encode(), self.pins.mint("session").encode())]
        await self.app(scope, replay, _adding(send, minted, success_only=True))

    async def _sessionless(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        token = _cookie(headers)
        if token is not None and self.pins.owns("cookie", token):
            self._count("cookie", "own")
            await self.app(scope, receive, send)
            return
        cookie = (b"set-cookie", f"{COOKIE}={self.pins.mint('cookie')}; Path=/; HttpOnly".encode())
        if token is not None and headers.get("mcp-method") != DISCOVER:
            self._count("cookie", "foreign")
            message = (
                f"MCP server version changed: this conversation was on {_claimed(token)}, this "
                f"server is {self.pins.version}, with other tools. The request was not run: list "
                "the tools again and continue with those."
            )
            await _answer(send, 409, _rpc_error(VERSION_CHANGED, message), [cookie])
            return
        self._count("cookie", "new")
        await self.app(scope, receive, _adding(send, [cookie], success_only=False))
