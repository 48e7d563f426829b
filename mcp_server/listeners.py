"""Two listeners, one process: the public one (MCP, health, metrics) and the api-proxy's own.

The sandbox's isolates may connect to the api-proxy's listener only (the runner's `--allow-net`),
so model code reaches the proxy routes and nothing else of the server: no nested `execute`
through `/mcp`, no `/metrics`, no `/readyz`. A request is told apart by the local port it arrived
on, which the client cannot choose (a Host header can be forged, the socket it connected to not).
"""

from __future__ import annotations

import socket

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send


class Listeners:
    """Sends each connection to the app of the listener it came in on; lifespan to `public`."""

    def __init__(self, public: ASGIApp, proxy: ASGIApp, proxy_port: int) -> None:
        self.public = public
        self.proxy = proxy
        self.proxy_port = proxy_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        local = scope.get("server")
        on_proxy = scope["type"] != "lifespan" and local is not None and local[1] == self.proxy_port
        await (self.proxy if on_proxy else self.public)(scope, receive, send)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket bound the way uvicorn binds its own (exits when the port is taken)."""
    # Only the socket: no app is loaded (Config loads its app in `load`, never called here).
    return uvicorn.Config(app="", host=host, port=port).bind_socket()
