"""Executions that outlive the soft wait become jobs, polled with `pollJob` from any replica.

The replica that runs a job keeps its record in a store the replicas share (mcp_server/
jobstore.py: Redis when `jobStoreUrl` is set), with a heartbeat while it runs and the result
once it ends, so a poll that lands on another replica, or after the owner restarted, still gets
it. Job ids are signed and carry their start time, so a poll gets one of four plain answers and
never an ambiguous one that would invite the model to run its side effects again:
- the state (running) or the result;
- unknown: this server never issued that id;
- expired: the job ended, its result is no longer kept (do not run it again);
- lost: the replica running it stopped before it ended (check the platform before re-running).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from mcp_server.errors import ErrorKind, ToolError
from mcp_server.jobstore import JobRecord, JobStore
from mcp_server.signing import Signer, random_part
from mcp_server.tools.base import CallContext, ToolDefinition, ToolReply, parse_arguments, schema_of

logger = logging.getLogger(__name__)
BEAT_SECONDS = 5.0  # the owner's heartbeat; the store forgets a beat after 3 of these
POLL_SECONDS = 0.2  # how often a poll re-reads a job another replica runs


def encode(reply: ToolReply) -> dict[str, Any]:
    return {"structured": reply.structured, "error": reply.error.as_dict() if reply.error else None}


def decode(data: dict[str, Any]) -> ToolReply:
    error = dict(data.get("error") or {})
    if not error:
        return ToolReply(data.get("structured"))
    kind, message = ErrorKind(error.pop("kind")), str(error.pop("message"))
    return ToolReply(data.get("structured"), ToolError(kind, message, **error))


def _at(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def running_reply(job_id: str) -> ToolReply:
    return ToolReply({"state": "running", "jobId": job_id, "logs": []})


def with_job_id(reply: ToolReply, job_id: str) -> ToolReply:
    return ToolReply({**reply.structured, "jobId": job_id}, reply.error)


def lost(job_id: str, why: str) -> ToolError:
    return ToolError(
        ErrorKind.INFRA,
        f"job {job_id} was lost: {why} before it ended. It may have made some of its API calls: "
        "read the platform's state before running that code again.",
        jobState="lost",
    )


async def wait_for(task: asyncio.Task[ToolReply], seconds: float) -> bool:
    """Wait without cancelling the task when time is up; True when it has finished."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    return bool(done)


class JobRegistry:
    """This replica's running jobs, and the answers for any job of this version."""

    def __init__(self, store: JobStore, signer: Signer, max_jobs: int, ttl_seconds: float) -> None:
        self._store, self._signer = store, signer
        self._max_jobs, self._ttl = max_jobs, ttl_seconds
        self._tasks: dict[str, asyncio.Task[ToolReply]] = {}
        self._supervisors: set[asyncio.Task[None]] = set()
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{random_part()[:6]}"

    def ensure_room(self) -> None:
        """Refuse work up front rather than lose track of a running execution."""
        if len(self._tasks) >= self._max_jobs:
            raise ToolError(ErrorKind.INFRA, "too many executions are running; retry shortly")

    async def _quietly(self, what: str, call: Awaitable[None]) -> None:
        try:
            await call
        except Exception as error:  # the store is down: polls say so, the job goes on
            logger.warning("job store: %s failed: %s", what, error)

    async def adopt(self, task: asyncio.Task[ToolReply]) -> str:
        """Make a running execution a job; returns its id."""
        self.ensure_room()
        started = time.time()
        job_id = self._signer.sign("job", f"job.{int(started * 1000):x}.{random_part()}")
        self._tasks[job_id] = task
        await self._quietly("start", self._store.start(job_id, self.owner, started))
        supervisor = asyncio.create_task(self._supervise(job_id, task))
        self._supervisors.add(supervisor)
        supervisor.add_done_callback(self._supervisors.discard)
        return job_id

    async def _supervise(self, job_id: str, task: asyncio.Task[ToolReply]) -> None:
        try:
            while not task.done():
                await self._quietly("heartbeat", self._store.beat(job_id, self.owner))
                await asyncio.wait({task}, timeout=BEAT_SECONDS)
        finally:
            if not task.done():
                task.cancel()  # this replica is stopping
            if task.cancelled():
                state, data = "interrupted", None
            else:
                reply = task.result()
                state, data = ("failed" if reply.error else "succeeded"), encode(reply)
            finish = self._store.finish(job_id, state, time.time(), data)
            await self._quietly("finish", finish)
            self._tasks.pop(job_id, None)

    async def poll(self, job_id: str, wait_seconds: float) -> ToolReply:
        payload = self._signer.verify("job", job_id)
        if payload is None or not payload.startswith("job."):
            raise ToolError(
                ErrorKind.USER,
                f"unknown job {job_id!r}: this server never issued it; poll the jobId that "
                "execute returned",
                jobState="unknown",
            )
        task = self._tasks.get(job_id)
        if task is not None:  # ours: wait on it directly
            if not await wait_for(task, wait_seconds):
                return running_reply(job_id)
            if not task.cancelled():
                return with_job_id(task.result(), job_id)
        started = int(payload.split(".")[1], 16) / 1000
        deadline = time.monotonic() + wait_seconds
        while True:  # bounded by wait_seconds
            record = await self._read(job_id)
            answer = self._answer(job_id, started, record)
            if answer is not None:
                return answer
            left = deadline - time.monotonic()
            if left <= 0:
                return running_reply(job_id)
            await asyncio.sleep(min(POLL_SECONDS, left))

    async def _read(self, job_id: str) -> JobRecord | None:
        try:
            return await self._store.read(job_id)
        except Exception as error:
            logger.warning("job store: read failed: %s", error)
            raise ToolError(
                ErrorKind.INFRA,
                f"the job store is unreachable, so job {job_id} cannot be read now; the job "
                "itself is not affected: poll it again shortly",
            ) from error

    def _answer(self, job_id: str, started: float, record: JobRecord | None) -> ToolReply | None:
        """The reply for this record, or None while the job runs."""
        if record is None:
            if time.time() - started > self._store.record_seconds:
                raise ToolError(
                    ErrorKind.USER,
                    f"job {job_id} started at {_at(started)}: its record has expired. Do not run "
                    "it again blindly: read the platform's state to see its effects.",
                    jobState="expired",
                )
            raise lost(job_id, "the job store has no record of it (the store was reset)")
        if record.reply is not None:
            return with_job_id(decode(record.reply), job_id)
        if record.state == "running":
            if record.alive:
                return None
            raise lost(job_id, "the replica running it stopped")
        if record.state == "interrupted":
            raise lost(job_id, "the replica running it was stopped")
        ended = _at(record.ended or started)
        raise ToolError(
            ErrorKind.USER,
            f"job {job_id} {record.state} at {ended}; its result was kept for {self._ttl:g} s "
            "and has expired. Do not run it again: read the platform's state to see its effects.",
            jobState="expired",
        )

    def cancel_all(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    async def close(self) -> None:
        """Cancel what runs, record it as interrupted, and close the store (bounded)."""
        self.cancel_all()
        if self._supervisors:
            await asyncio.wait(set(self._supervisors), timeout=5)
        await self._quietly("close", self._store.close())


class PollArgs(BaseModel):
    jobId: str = Field(min_length=1, max_length=200)
    waitSeconds: float = Field(
        10.0, ge=0, le=60, description="Wait up to this long for the job to finish"
    )


class PollJob:
    def __init__(self, jobs: JobRegistry, output_schema: dict[str, Any]) -> None:
        self._jobs = jobs
        self._output_schema = output_schema

    async def handle(self, arguments: dict[str, Any], context: CallContext) -> ToolReply:
        args = parse_arguments(PollArgs, arguments)
        return await self._jobs.poll(args.jobId, args.waitSeconds)

    def tool(self) -> ToolDefinition:
        return ToolDefinition(
            name="pollJob",
            description=(
                "Get the state of an execute that returned a jobId: running, or its result, "
                "logs and error once finished. Waits up to waitSeconds for it to finish."
            ),
            input_schema=schema_of(PollArgs),
            output_schema=self._output_schema,
            handler=self.handle,
        )
