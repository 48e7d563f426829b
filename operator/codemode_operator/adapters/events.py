"""Posting the status' Events outbox as core/v1 Events, each once whatever the restarts."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import Any

import kubernetes
from kubernetes.client import CoreV1Event

from codemode_operator.adapters.kube import Kube
from codemode_operator.apis.names import API_VERSION, EVENT_SEQ_ANNOTATION, KIND
from codemode_operator.apis.status import EventRecord

COMPONENT = "codemode-operator"
_NAME_ROOM = 200  # an Event name is at most 253 characters: room for ".<uid>.<seq>"


def event_name(name: str, uid: str, seq: int) -> str:
    """`<rollout>.<uid hash>.<seq>`: the same record gets the same name after any restart, and
    a rollout deleted and created again (a new uid) does not meet its predecessor's Events."""
    digest = hashlib.sha256(uid.encode()).hexdigest()[:10]
    return f"{name[:_NAME_ROOM]}.{digest}.{seq}"


def event_body(rollout: Mapping[str, Any], record: EventRecord) -> dict[str, Any]:
    meta = rollout["metadata"]
    time = record.time.isoformat().replace("+00:00", "Z")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": event_name(meta["name"], meta.get("uid", ""), record.seq),
            "namespace": meta["namespace"],
            "annotations": {EVENT_SEQ_ANNOTATION: str(record.seq)},
        },
        "involvedObject": {
            "apiVersion": rollout.get("apiVersion", API_VERSION),
            "kind": rollout.get("kind", KIND),
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid"),
        },
        "type": record.type,
        "reason": record.reason,
        "message": record.message,
        "firstTimestamp": time,
        "lastTimestamp": time,
        "count": 1,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
    }


async def post(kube: Kube, rollout: Mapping[str, Any], record: EventRecord) -> bool:
    """Create the Event; False when it already exists (posted before a restart)."""
    body = event_body(rollout, record)
    # As the client would at the call (validate_call), but typed: the same JSON is sent.
    model = CoreV1Event.model_validate(body)
    try:
        await asyncio.to_thread(
            kube.core.create_namespaced_event, body["metadata"]["namespace"], model
        )
    except kubernetes.client.ApiException as error:
        if error.status == 409:
            return False
        raise
    return True
