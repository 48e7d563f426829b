"""In-memory state of the sample deployment platform.

Deployments build asynchronously: their state is derived from the time since they were queued
(queued → building → live), so a client has to poll, as with a real platform.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


class NotFound(LookupError):
    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")


class Conflict(ValueError):
    pass


@dataclass
class Store:
    build_seconds: float = 1.0
    collections: dict[str, dict[str, Record]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):05d}"

    def table(self, kind: str) -> dict[str, Record]:
        return self.collections.setdefault(kind, {})

    def get(self, kind: str, key: str) -> Record:
        record = self.table(kind).get(key)
        if record is None:
            raise NotFound(kind, key)
        return record

    def add(self, kind: str, record: Record) -> Record:
        self.table(kind)[record["id"]] = record
        return record

    def remove(self, kind: str, key: str) -> Record:
        record = self.get(kind, key)
        del self.table(kind)[key]
        return record

    def children(self, kind: str, project_id: str) -> list[Record]:
        self.get("project", project_id)
        return [r for r in self.table(kind).values() if r.get("projectId") == project_id]

    def deployment_view(self, deployment: Record) -> Record:
        """The deployment as of now: its status advances with elapsed build time."""
        if deployment["status"] in ("queued", "building"):
            elapsed = time.monotonic() - deployment["_queuedAt"]
            if elapsed >= self.build_seconds:
                deployment["status"] = "live"
                project = self.get("project", deployment["projectId"])
                deployment["url"] = f"https://{project['name']}.sample-platform.app"
                project["liveDeploymentId"] = deployment["id"]
            elif elapsed >= self.build_seconds / 4:
                deployment["status"] = "building"
        return {key: value for key, value in deployment.items() if not key.startswith("_")}
