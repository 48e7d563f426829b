"""The load: MCP conversations that behave like models', through the Gateway at a steady total rate of tool calls.

Each of a few workers runs one conversation after another (codemode_cli/conversation.py): a v2
one searches, executes the operations it found (as a job) and polls the job, a v1 one calls
classic operations, several calls each; half of the workers speak the session era of the
protocol, half the sessionless one. Any call that another version served is counted as mixed:
pinning keeps that at 0.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from codemode_cli.conversation import Conversation, converse
from codemode_cli.traffic import ERAS

CALL_TIMEOUT = 10.0
CALLS_PER_CONVERSATION = 10
JOB_SECONDS = 0.5  # an execute sleeps this long first: over v2's softWaitSeconds, a job
MAX_BREAKS = 20


@dataclass
class Tally:
    calls: int = 0
    ok: int = 0
    tool_errors: int = 0  # answered with is_error: the server's error kinds (infra, api, ...)
    failed: int = 0  # conversations ended by a transport or protocol error
    mixed: int = 0  # calls served by another version than their conversation's
    restarts: int = 0  # conversations moved by the route and told so once (404 / 409)
    conversations: dict[str, int] = field(default_factory=dict)  # by version and era
    # Why each failed conversation ended ("14:02:11 v2 cookie: <error>"), so a failure says why
    # and when (the demo's event lines carry the same clock).
    breaks: list[str] = field(default_factory=list)

    def add(self, talk: Conversation) -> None:
        if not talk.versions and not talk.broken:
            return  # stopped before it started: the demo was ending
        self.calls += talk.calls
        self.tool_errors += talk.failed
        self.ok += talk.calls - talk.failed
        if talk.broken:
            self.failed += 1
            if len(self.breaks) < MAX_BREAKS:
                when = time.strftime("%H:%M:%S")
                self.breaks.append(f"{when} {talk.version} {talk.era}: {talk.broken}")
        self.mixed += talk.mixed
        self.restarts += talk.restarts
        key = f"{talk.version} {talk.era}"
        self.conversations = dict(Counter(self.conversations) + Counter({key: 1}))


class Load:
    """`workers` conversations at a time sharing `rate` calls/s; runs in its own thread."""

    def __init__(
        self,
        url: str,
        token: str,
        rate: float,
        workers: int = 16,
        max_seconds: float = 900.0,
        proxy: str | None = None,  # the Gateway, when `url` names the public host
    ) -> None:
        self.url, self.token = url, token
        self.http_options = {"proxy": proxy} if proxy else None
        self.rate, self.workers, self.max_seconds = rate, workers, max_seconds
        self.tally = Tally()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="load")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3 * CALL_TIMEOUT)

    async def _run(self) -> None:
        try:
            async with asyncio.timeout(self.max_seconds):
                await asyncio.gather(*(self._worker(i) for i in range(self.workers)))
        except TimeoutError:
            return

    async def _worker(self, index: int) -> None:
        await asyncio.sleep(index / self.rate)  # staggered
        while not self._stop.is_set():
            talk = await converse(
                f"{self.url}/mcp",
                self.token,
                ERAS[index % len(ERAS)],
                CALLS_PER_CONVERSATION,
                job_seconds=JOB_SECONDS,
                pace=self.workers / self.rate,
                call_seconds=CALL_TIMEOUT,
                http_options=self.http_options,
                stop=self._stop.is_set,
            )
            self.tally.add(talk)
            if talk.broken:
                await asyncio.sleep(self.workers / self.rate)  # not in a burst
