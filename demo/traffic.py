"""The load: a few MCP client sessions calling tools through the Gateway at a steady total rate."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from codemode_cli.traffic import session

CALL_TIMEOUT = 10.0


@dataclass
class Tally:
    calls: int = 0
    ok: int = 0
    tool_errors: int = 0  # answered with is_error: the server's error kinds (infra, api, ...)
    failed: int = 0  # no answer: transport error, protocol error or timeout


class Load:
    """`sessions` official MCP clients sharing `rate` calls/s; runs in its own thread."""

    def __init__(
        self,
        url: str,
        token: str,
        tools: Sequence[str],
        rate: float,
        sessions: int = 4,
        max_seconds: float = 900.0,
    ) -> None:
        self.url, self.token, self.tools = url, token, tools
        self.rate, self.sessions, self.max_seconds = rate, sessions, max_seconds
        self.tally = Tally()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="load")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=CALL_TIMEOUT + 5)

    async def _run(self) -> None:
        await asyncio.gather(*(self._session(i) for i in range(self.sessions)))

    async def _session(self, index: int) -> None:
        period = self.sessions / self.rate
        deadline = time.monotonic() + self.max_seconds
        tools = itertools.islice(itertools.cycle(self.tools), index, None)  # sessions differ
        next_call = time.monotonic() + index * period / self.sessions  # staggered sessions
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                async with session(f"{self.url}/mcp", self.token) as client:
                    while not self._stop.is_set() and time.monotonic() < deadline:
                        await asyncio.sleep(max(0.0, next_call - time.monotonic()))
                        # A slow answer delays the next call; missed calls are not sent in a burst.
                        next_call = max(next_call + period, time.monotonic())
                        self.tally.calls += 1
                        result = await client.call_tool(
                            next(tools), {}, read_timeout_seconds=CALL_TIMEOUT
                        )
                        if getattr(result, "is_error", False):
                            self.tally.tool_errors += 1
                        else:
                            self.tally.ok += 1
            except Exception:  # any failure of the session counts once; a new session follows
                self.tally.failed += 1
                await asyncio.sleep(period)
