"""In-memory fakes of what one tick reads and writes, on plain data: `reconciling.Cluster` with
the API server behind it (the real adapters run), and the tick's own adapter interfaces
(`FakeRollout`/`FakeResource`, `FakeRouter`) for the orchestrator alone.

`ApiServer` keeps the objects with resourceVersions and answers the few client calls the tick
makes the way the real API server does: every write moves the resourceVersion, a write that
carries an older one is refused with a 409, a write that changes nothing writes nothing (the
resourceVersion stays), a status patch is a JSON merge patch of the status alone. Only the calls the tick's adapters make are here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from codemode_operator.adapters.kube import Kube
from codemode_operator.apis.names import REQUEST_ANNOTATION
from codemode_operator.apis.status import EventRecord
from codemode_operator.memory import Memory
from codemode_operator.reconciling import Cluster
from codemode_operator.rollout import DeploymentState, SetPins, SetWeight, WeightReading
from kubernetes.client import ApiClient, ApiException

NAMESPACE = "mcp"
ROLLOUTS, ROUTES = "codemoderollouts", "httproutes"


def merge(target: Any, patch: Any) -> Any:
    """RFC 7386 applied, as the API server applies a merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


@dataclass
class ApiServer:
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, name)
    events: list[dict[str, Any]] = field(default_factory=list)
    writes: list[tuple[str, str, Any]] = field(default_factory=list)  # (call, name, body)
    refused: list[tuple[str, str, Any]] = field(default_factory=list)  # answered 409
    unchanged: list[tuple[str, str, Any]] = field(default_factory=list)  # accepted, no change
    fail_events: bool = False  # the Events API answers 500
    _version: int = 0

    def put(self, plural: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store `obj` as a write by someone else (a person, another controller) would."""
        stored = copy.deepcopy(dict(obj))
        stored.setdefault("metadata", {}).update(
            namespace=NAMESPACE, resourceVersion=self._next_version()
        )
        self.objects[(plural, stored["metadata"]["name"])] = stored
        return copy.deepcopy(stored)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.objects[(plural, name)])

    def annotate(self, plural: str, name: str, key: str, value: str) -> dict[str, Any]:
        """Someone else's write (a person's kubectl annotate): it moves the resourceVersion."""
        stored = self._stored(plural, name)
        stored["metadata"].setdefault("annotations", {})[key] = value
        stored["metadata"]["resourceVersion"] = self._next_version()
        return copy.deepcopy(stored)

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _stored(self, plural: str, name: str) -> dict[str, Any]:
        if (plural, name) not in self.objects:
            raise ApiException(status=404, reason="Not Found")
        return self.objects[(plural, name)]

    def _write(self, call: str, plural: str, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        stored = self._stored(plural, name)
        expected = (body.get("metadata") or {}).get("resourceVersion")
        if expected is not None and expected != stored["metadata"]["resourceVersion"]:
            self.refused.append((call, name, copy.deepcopy(dict(body))))
            raise ApiException(status=409, reason="Conflict")
        if call == "replace":
            updated = copy.deepcopy(dict(body))
            updated["metadata"] = {**stored["metadata"], **updated.get("metadata", {})}
        elif call == "patch_status":
            updated = {**stored, "status": merge(stored.get("status"), body.get("status"))}
        else:
            updated = merge(stored, {k: v for k, v in body.items() if k != "status"})
        if updated == stored:  # nothing to change: nothing written, the version stays
            self.unchanged.append((call, name, copy.deepcopy(dict(body))))
            return copy.deepcopy(stored)
        self.writes.append((call, name, copy.deepcopy(dict(body))))
        updated["metadata"]["resourceVersion"] = self._next_version()
        self.objects[(plural, name)] = updated
        return copy.deepcopy(updated)

    # The CustomObjectsApi calls of the rollout's adapter (adapters/resource.py) and the router.
    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> dict[str, Any]:
        return copy.deepcopy(self._stored(plural, name))

    def replace_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: Any
    ) -> dict[str, Any]:
        return self._write("replace", plural, name, body)

    def patch_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: Any
    ) -> dict[str, Any]:
        return self._write("patch", plural, name, body)

    def patch_namespaced_custom_object_status(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: Any
    ) -> dict[str, Any]:
        return self._write("patch_status", plural, name, body)

    # The CoreV1Api call of the Events adapter.
    def create_namespaced_event(self, namespace: str, body: Any) -> None:
        # The adapter sends the client's model: stored as the JSON the API server would get.
        body = ApiClient().sanitize_for_serialization(body)
        if self.fail_events:
            raise ApiException(status=500, reason="Internal Server Error")
        if any(e["metadata"]["name"] == body["metadata"]["name"] for e in self.events):
            raise ApiException(status=409, reason="AlreadyExists")
        self.events.append(copy.deepcopy(body))

    def status_writes(self) -> list[Any]:
        return [body for call, _, body in self.writes if call == "patch_status"]


@dataclass
class FakeKube:
    """`adapters.kube.Kube`'s surface: the custom objects and Events on the fake API server,
    the Deployment scales and gate Jobs as lists."""

    api: ApiServer
    scaled: list[tuple[str, int]] = field(default_factory=list)
    created_jobs: list[dict[str, Any]] = field(default_factory=list)
    # Runs while a tick awaits the gate Jobs' list: what happens meanwhile (kopf's watch
    # updating the live body in place, someone's write).
    while_listing: Callable[[], None] | None = None

    @property
    def custom(self) -> ApiServer:
        return self.api

    @property
    def core(self) -> ApiServer:
        return self.api

    async def scale(self, namespace: str, deployment: str, replicas: int) -> None:
        self.scaled.append((deployment, replicas))

    async def create_job(self, namespace: str, job: dict[str, Any]) -> None:
        self.created_jobs.append(job)

    async def jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        if self.while_listing is not None:
            self.while_listing()
        return []


def ready(replicas: int = 2) -> DeploymentState:
    return DeploymentState(
        desired_replicas=replicas,
        updated_replicas=replicas,
        available_replicas=replicas,
        revision="r1",
    )


@dataclass
class FakeCluster:
    """The API server, the Deployments as kopf's index shows them, the posted kopf events, and
    one operator process' memory of the rollouts (a new FakeCluster: a new process)."""

    api: ApiServer = field(default_factory=ApiServer)
    deployments: dict[tuple[str, str], DeploymentState] = field(
        default_factory=lambda: {(NAMESPACE, "mcp-v1"): ready(), (NAMESPACE, "mcp-v2"): ready()}
    )
    kopf_events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, text)
    memory: Memory = field(default_factory=Memory)
    kube: FakeKube = field(init=False)

    def __post_init__(self) -> None:
        self.kube = FakeKube(self.api)

    def cluster(self) -> Cluster:
        """What a tick sees now: the HTTPRoutes as kopf's index would have them."""
        routes = {
            (NAMESPACE, name): {"metadata": {"name": name}, "spec": obj["spec"]}
            for (plural, name), obj in self.api.objects.items()
            if plural == ROUTES
        }
        return Cluster(
            kube=cast(Kube, self.kube),
            deployments=self.deployments,
            routes=routes,
            event=lambda _body, type_, reason, text: self.kopf_events.append((type_, reason, text)),
            memory=self.memory,
        )


# Fakes of the tick's own adapter interfaces (adapters/resource.py `Resource`, adapters/routers
# `Router`), for the orchestrator alone: no client calls, the same answers.


@dataclass
class FakeRollout:
    """The rollout object as `Resource` shows it: a stored copy whose resourceVersion moves with
    every write that changes it, and what ticks asked of it."""

    stored: dict[str, Any]
    commits: list[tuple[dict[str, Any], bool]] = field(default_factory=list)  # (patch, guarded)
    refused: int = 0  # commits answered 409
    posted: list[tuple[int, str]] = field(default_factory=list)  # (seq, reason) created
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, text)

    def __post_init__(self) -> None:
        self.stored = copy.deepcopy(self.stored)
        self.stored["metadata"] = {"namespace": NAMESPACE, "resourceVersion": "1"} | dict(
            self.stored["metadata"]
        )

    def copy(self) -> FakeResource:
        """A tick's copy of the object as it is stored now."""
        return FakeResource(copy.deepcopy(self.stored), self)

    def moved(self) -> None:
        """Someone else's write (a person's kubectl annotate): the resourceVersion moves."""
        meta = self.stored["metadata"]
        meta["resourceVersion"] = str(int(meta["resourceVersion"]) + 1)


@dataclass
class FakeResource:
    body: dict[str, Any]
    rollout: FakeRollout
    version: str = field(init=False)  # the body's when the tick started, as ApiResource's

    def __post_init__(self) -> None:
        self.version = self.body["metadata"]["resourceVersion"]

    def _stale(self) -> bool:
        return bool(self.version != self.rollout.stored["metadata"]["resourceVersion"])

    async def commit(self, patch: Mapping[str, Any], guarded: bool = True) -> str | None:
        self.rollout.commits.append((copy.deepcopy(dict(patch)), guarded))
        if guarded and self._stale():
            self.rollout.refused += 1
            return None
        stored = self.rollout.stored
        status = merge(stored.get("status"), copy.deepcopy(dict(patch)))
        if status != stored.get("status"):  # a write that changes nothing writes nothing
            stored["status"] = status
            self.rollout.moved()
        return str(stored["metadata"]["resourceVersion"])

    async def clear_request(self) -> None:
        annotations = self.rollout.stored["metadata"].get("annotations") or {}
        if annotations.pop(REQUEST_ANNOTATION, None) is not None:
            self.rollout.moved()

    async def post(self, record: EventRecord) -> bool:
        if any(seq == record.seq for seq, _ in self.rollout.posted):
            return False  # the Event's name is per seq (adapters/events.py)
        self.rollout.posted.append((record.seq, record.reason))
        return True

    def event(self, type_: str, reason: str, message: str) -> None:
        self.rollout.events.append((type_, reason, message))


@dataclass
class FakeRouter:
    """A router that shows what it was last told (`weight`, `pins`); `fail`: every write raises."""

    weight: int | None = 0
    pins: tuple[str, ...] | None = ()
    fail: Exception | None = None
    writes: list[SetWeight | SetPins] = field(default_factory=list)

    def verify_weight(self, desired: int) -> WeightReading | None:
        if self.weight is None:
            return None
        return WeightReading(desired=desired, verified=self.weight == desired, shown=self.weight)

    def read_pins(self) -> tuple[str, ...] | None:
        return self.pins

    async def set_weight(self, weight: int) -> None:
        if self.fail is not None:
            raise self.fail
        self.writes.append(SetWeight(weight))
        self.weight = weight

    async def set_pins(self, pins: tuple[str, ...]) -> None:
        if self.fail is not None:
            raise self.fail
        self.writes.append(SetPins(pins))
        self.pins = pins
