"""Fault injection for the sample backend: latency, error answers and dropped connections."""

from __future__ import annotations

import asyncio
import random

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send


class Faults(BaseModel):
    latency_ms: float = Field(0.0, ge=0, description="Delay added before every API answer")
    error_status: int | None = Field(None, ge=400, le=599, description="Status to answer with")
    error_rate: float = Field(1.0, ge=0, le=1, description="Share of calls given error_status")
    drop_rate: float = Field(0.0, ge=0, le=1, description="Share of calls whose connection drops")


class FaultInjector:
    """ASGI middleware applying the current `Faults` to API routes (not to /admin)."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults
        self._random = random.Random(0)  # seeded: the same fault sequence on every run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/admin"):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.drop_rate and self._random.random() < faults.drop_rate:
            # Announce a body that never comes, then abort: the client sees the connection drop.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"1000")],
                }
            )
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionAbortedError("fault injection: connection dropped")
        if faults.error_status and self._random.random() < faults.error_rate:
            body = b'{"error": "fault injection: simulated failure"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": faults.error_status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
