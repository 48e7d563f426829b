"""Where job records live: Redis shared by the replicas of a version, or this process alone.

Per job, three keys (Redis) or one entry (memory):
- `codemode:job:<id>`: state (running, succeeded, failed, interrupted), owner, started, ended;
  kept `record_seconds` (a day), so "expired" can be told from "never issued" or "lost";
- `codemode:job:<id>:alive`: set by the owner's heartbeat, gone 3 beats after it stops;
- `codemode:job:<id>:reply`: the result, kept `reply_seconds` (`jobTtlSeconds`) after it ends.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as redis

RECORD_SECONDS = 24 * 3600.0
BEAT_TTL_SECONDS = 15.0  # three missed heartbeats (mcp_server/tools/jobs.py BEAT_SECONDS)
PREFIX = "codemode:job:"


@dataclass(frozen=True)
class JobRecord:
    state: str
    owner: str
    started: float
    ended: float | None = None
    alive: bool = False  # a running job's owner has beaten recently
    reply: dict[str, Any] | None = None  # ended, and the result not yet expired


class JobStore(Protocol):
    record_seconds: float

    async def start(self, job_id: str, owner: str, started: float) -> None: ...
    async def beat(self, job_id: str, owner: str) -> None: ...
    async def finish(
        self, job_id: str, state: str, ended: float, reply: dict[str, Any] | None
    ) -> None: ...
    async def read(self, job_id: str) -> JobRecord | None: ...
    async def healthy(self) -> bool: ...
    async def close(self) -> None: ...


@dataclass
class _Entry:
    record: JobRecord
    forget_at: float
    reply_until: float = 0.0


@dataclass
class MemoryJobStore:
    """One process only: a poll reaching another replica cannot see these jobs."""

    reply_seconds: float
    record_seconds: float = RECORD_SECONDS
    _entries: dict[str, _Entry] = field(default_factory=dict)

    def _expire(self, now: float) -> None:
        for job_id in [k for k, e in self._entries.items() if e.forget_at <= now]:
            del self._entries[job_id]

    async def start(self, job_id: str, owner: str, started: float) -> None:
        now = time.time()
        self._expire(now)
        record = JobRecord("running", owner, started, alive=True)
        self._entries[job_id] = _Entry(record, now + self.record_seconds)

    async def beat(self, job_id: str, owner: str) -> None:
        """The owner is this process: while it runs, its jobs are alive."""

    async def finish(
        self, job_id: str, state: str, ended: float, reply: dict[str, Any] | None
    ) -> None:
        entry = self._entries.get(job_id)
        if entry is None:
            return
        record = JobRecord(state, entry.record.owner, entry.record.started, ended, False, reply)
        self._entries[job_id] = _Entry(
            record, ended + self.record_seconds, ended + self.reply_seconds
        )

    async def read(self, job_id: str) -> JobRecord | None:
        now = time.time()
        self._expire(now)
        entry = self._entries.get(job_id)
        if entry is None:
            return None
        if entry.record.reply is not None and now >= entry.reply_until:
            entry.record = JobRecord(**{**entry.record.__dict__, "reply": None})
        return entry.record

    async def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        self._entries.clear()


class RedisJobStore:
    """Redis (or Valkey) at `url`, shared by every replica of the version."""

    def __init__(self, url: str, reply_seconds: float, record_seconds: float = RECORD_SECONDS):
        self.reply_seconds, self.record_seconds = reply_seconds, record_seconds
        self._redis = redis.from_url(
            url, decode_responses=True, socket_timeout=3, socket_connect_timeout=3
        )

    async def start(self, job_id: str, owner: str, started: float) -> None:
        key = PREFIX + job_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"state": "running", "owner": owner, "started": started})
            pipe.expire(key, int(self.record_seconds))
            pipe.set(key + ":alive", owner, px=int(BEAT_TTL_SECONDS * 1000))
            await pipe.execute()

    async def beat(self, job_id: str, owner: str) -> None:
        await self._redis.set(PREFIX + job_id + ":alive", owner, px=int(BEAT_TTL_SECONDS * 1000))

    async def finish(
        self, job_id: str, state: str, ended: float, reply: dict[str, Any] | None
    ) -> None:
        key = PREFIX + job_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"state": state, "ended": ended})
            pipe.expire(key, int(self.record_seconds))
            if reply is not None:
                pipe.set(key + ":reply", json.dumps(reply), px=int(self.reply_seconds * 1000))
            pipe.delete(key + ":alive")
            await pipe.execute()

    async def read(self, job_id: str) -> JobRecord | None:
        key = PREFIX + job_id
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.exists(key + ":alive")
            pipe.get(key + ":reply")
            fields, alive, reply = await pipe.execute()
        if not fields:
            return None
        ended = fields.get("ended")
        return JobRecord(
            state=fields.get("state", "running"),
            owner=fields.get("owner", ""),
            started=float(fields.get("started", 0)),
            ended=float(ended) if ended else None,
            alive=bool(alive),
            reply=json.loads(reply) if reply else None,
        )

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def close(self) -> None:
        await self._redis.aclose()


def job_store(url: str | None, reply_seconds: float) -> JobStore:
    return RedisJobStore(url, reply_seconds) if url else MemoryJobStore(reply_seconds)
