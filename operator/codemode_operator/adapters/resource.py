"""The CodeModeRollout's own I/O: its status, its request annotation and its Events.

A tick's status write is its commit point. It carries the resourceVersion of the copy the tick
read (taken when the tick starts), so a tick that ran on a stale copy (kopf's watch lagging
behind our own last write) is refused by the API server (409) and the tick does nothing else. The write is a JSON merge
patch of the status alone (the status subresource).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

import kubernetes

from codemode_operator.adapters import events
from codemode_operator.adapters.kube import Kube
from codemode_operator.apis.names import GROUP, PLURAL, REQUEST_ANNOTATION, VERSION
from codemode_operator.apis.status import EventRecord

# (rollout, type, reason, message): kopf's Event poster (handlers.py), or a test's list.
EventFn = Callable[[Mapping[str, Any], str, str, str], None]


class Resource(Protocol):
    """One rollout as a tick read it, and the writes to the object itself."""

    @property
    def body(self) -> Mapping[str, Any]:
        """The copy the tick decides on (kopf's)."""

    async def commit(self, patch: Mapping[str, Any], guarded: bool = True) -> str | None:
        """Merge `patch` into the status; `guarded`: only if the object is still at the
        resourceVersion the body had when this `Resource` was made (the tick's start), else
        None (a 409: the copy was stale). An empty guarded patch asks just that, without a
        write. Returns the stored resourceVersion."""

    async def clear_request(self) -> None:
        """Remove the request annotation (its request is recorded in the status)."""

    async def post(self, record: EventRecord) -> bool:
        """Post one record of the Events outbox; False: posted before (nothing created)."""

    def event(self, type_: str, reason: str, message: str) -> None:
        """An Event about the rollout that is no transition (a failed action or tick)."""


def status_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) from `old` to `new`.

    A merge patch merges nested objects, so a field dropped at any depth (e.g. a cleared
    `analysis.metricsUnavailableSince`) must be sent as null or the stored copy keeps it.
    """
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            if nested := status_patch(before, value):
                patch[key] = nested
        elif before != value:
            patch[key] = value
    return patch


class ApiResource:
    """`Resource` on the API server, made when a tick starts (one per tick, or per leadership
    write). `body` is read at each call, not copied: kopf's timers get a live body that its
    watch keeps up to date, in place, while the tick awaits. So the resourceVersion that
    guards the commit is the one taken here: the live body's at commit time may belong to a
    newer copy than the one the tick decided on, and would let a stale decision through."""

    def __init__(self, kube: Kube, body: Mapping[str, Any], event: EventFn) -> None:
        self.kube, self._body, self._event = kube, body, event
        self.version: str = body["metadata"]["resourceVersion"]

    @property
    def body(self) -> Mapping[str, Any]:
        return self._body

    async def commit(self, patch: Mapping[str, Any], guarded: bool = True) -> str | None:
        meta = self._body["metadata"]
        payload: dict[str, Any] = {"status": patch}
        if guarded:
            payload["metadata"] = {"resourceVersion": self.version}
        try:
            stored = await asyncio.to_thread(
                self.kube.custom.patch_namespaced_custom_object_status,
                GROUP,
                VERSION,
                meta["namespace"],
                PLURAL,
                meta["name"],
                payload,
            )
        except kubernetes.client.ApiException as error:
            if error.status == 409:
                return None  # a stale copy: the next tick decides on the fresh one
            raise
        # The custom objects API returns the decoded JSON object; its annotation says `object`.
        return str(cast(dict[str, Any], stored).get("metadata", {}).get("resourceVersion", ""))

    async def clear_request(self) -> None:
        meta = self._body["metadata"]
        patch = {"metadata": {"annotations": {REQUEST_ANNOTATION: None}}}
        await asyncio.to_thread(
            self.kube.custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            meta["namespace"],
            PLURAL,
            meta["name"],
            patch,
        )

    async def post(self, record: EventRecord) -> bool:
        return await events.post(self.kube, self._body, record)

    def event(self, type_: str, reason: str, message: str) -> None:
        self._event(self._body, type_, reason, message)
