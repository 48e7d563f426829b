"""kopf glue only: what to watch, and a timer per rollout that runs one reconcile tick.

With leader election every replica watches (a warm standby), but only the lease holder's timers
reconcile; a standby's timers wait for the lease, so a takeover acts at once, not a tick later.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import kopf

from codemode_operator import leadership, metrics, reconciling
from codemode_operator.adapters.kube import Kube, deployment_state
from codemode_operator.adapters.lease import Elector
from codemode_operator.adapters.resource import ApiResource, Resource
from codemode_operator.adapters.routers import gateway_api
from codemode_operator.apis import names
from codemode_operator.memory import Memory
from codemode_operator.rollout import DeploymentState, RolloutStatus
from codemode_operator.settings import Settings
from codemode_operator.slots import DWELL_END, READ_BACK, Due, Slots

# kopf's timers need its finalizer on the rollout (to stop the timer before the object goes).
FINALIZER = kopf.OperatorSettings().persistence.finalizer
FINALIZER_WAIT = 20.0  # seconds; kopf adds it in the cycle that starts the timer (or soon after)


async def _until(done: Callable[[], bool], within: float, stopped: kopf.DaemonStopped) -> None:
    """Poll kopf's live body (the watch updates it in place, no event to await) until `done()`,
    for at most `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if done() or stopped:
            return
        await asyncio.sleep(0.1)


def _has_finalizer(body: kopf.Body) -> bool:
    """kopf adds its finalizer with a JSON patch that tests the resourceVersion it saw; a status
    write landing first fails that test (422 Unprocessable Entity) and kopf retries on a later
    event, racing the next tick again: at 500 new rollouts, 285 such 422s. So the first tick
    waits for it (past FINALIZER_WAIT it goes on: kopf retries)."""
    meta = body.metadata
    return FINALIZER in (meta.get("finalizers") or ()) or bool(meta.get("deletionTimestamp"))


OWN_WRITE_WAIT = 2.0  # seconds for our own write to come back through the watch


def _event(body: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
    # kopf reads the apiVersion, kind and metadata of any mapping it is given (and copies them
    # at once); its annotation names only its own Body.
    kopf.event(cast(kopf.Body, dict(body)), type=type_, reason=reason, message=message)


def _first(index: kopf.Index, key: tuple[str, str]) -> Any:
    store = index.get(key)
    return next(iter(store), None) if store is not None else None


class _IndexView(Mapping[tuple[str, str], Any]):
    """A kopf index as a plain read-only mapping of key -> newest value."""

    def __init__(self, index: kopf.Index | None) -> None:
        self.index = index

    def __getitem__(self, key: tuple[str, str]) -> Any:
        value = _first(self.index, key) if self.index is not None else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.index or {})

    def __len__(self) -> int:
        return len(self.index or {})


async def _await_lease(
    elector: Elector, resource: Callable[[], Resource], stopped: kopf.DaemonStopped
) -> bool:
    """True once this replica leads; False when kopf stops the timer first. Meanwhile the
    rollout's Controller condition says so if no replica can hold the lease (each write on
    the body as it is then: `resource()` takes its resourceVersion)."""
    while not stopped:
        state = elector.snapshot()
        if state.leading:
            return True
        await leadership.write(resource(), state)
        # Woken at once by the lease, or by kopf stopping the timer; else the condition is
        # looked at again after a lease duration.
        waits = {
            asyncio.ensure_future(elector.wait_leading()),
            asyncio.ensure_future(stopped.wait()),
        }
        await asyncio.wait(
            waits, timeout=elector.timings.duration, return_when=asyncio.FIRST_COMPLETED
        )
        for wait in waits:
            wait.cancel()
    return False


def _due(body: kopf.Body) -> Due | None:
    """When this rollout's next tick became (or becomes) due: its step's weight awaits the
    read-back, or its dwell ends. None: a routine tick."""
    status = body.get("status") or {}
    applying = (status.get("applying") or {}).get("since")
    when, rank = (applying, READ_BACK) if applying else (status.get("stepEndsAt"), DWELL_END)
    try:
        return (
            Due(datetime.fromisoformat(when).timestamp(), rank) if isinstance(when, str) else None
        )
    except ValueError:  # a status edited by hand: the tick itself reports it
        return None


def _kind(slots: Slots, due: Due | None) -> str:
    """The tick_wait_seconds label."""
    if due is None or not slots.is_due(due):
        return "routine"
    return "read_back" if due.rank == READ_BACK else "dwell_end"


async def _tick(
    body: kopf.Body,
    cluster: reconciling.Cluster,
    logger: kopf.Logger,
    slots: Slots,
    due: Due | None,
) -> RolloutStatus | None:
    # One tick per worker thread at a time, due ones first: the others wait here holding
    # nothing. Without it every rollout's tick was in flight at once at 500 rollouts, each with
    # its spec, status and answers in memory while queueing for the threads (RSS 322 MiB).
    queued = time.monotonic()
    async with slots.hold(due):
        waited = time.monotonic() - queued
        metrics.TICK_WAIT_SECONDS.labels(_kind(slots, due)).observe(waited)
        with metrics.RECONCILE_SECONDS.time():
            try:
                return await reconciling.reconcile(body, cluster, logger)
            except Exception:
                metrics.RECONCILE_ERRORS.labels(body.metadata.namespace, body.metadata.name).inc()
                raise


async def _fresh_tick(
    body: kopf.Body,
    cluster: reconciling.Cluster,
    logger: kopf.Logger,
    slots: Slots,
    due: Due | None,
    stopped: kopf.DaemonStopped,
) -> RolloutStatus | None:
    """A tick; a due one refused as stale (kopf's copy was behind a write since) runs again as
    soon as the watch brings the newer copy (bounded), not a timer run later: at tick 5 s that
    was 5 s more lag from stepEndsAt to the route."""
    seen = body.metadata.get("resourceVersion")
    status = await _tick(body, cluster, logger, slots, due)
    if status is not None or not slots.is_due(due):
        return status
    moved = lambda: body.metadata.get("resourceVersion") != seen  # noqa: E731
    await _until(moved, OWN_WRITE_WAIT, stopped)
    return await _tick(body, cluster, logger, slots, due) if moved() and not stopped else None


# How long a rollout's tick counts as due (slots.py): longer than a due tick waits for a slot
# on a loaded API server, short against a step held at its end for approval, data or a gate.
DUE_GRACE = 60.0  # seconds

# Our own status write must come back through the watch before the live body can commit again.
MIN_STEP_END_WAIT = 0.25


def _until_step_end(status: RolloutStatus | None, tick: float) -> float | None:
    """Seconds until the current dwell ends if that is sooner than the next tick, else None."""
    if status is None or status.step_ends_at is None:
        return None
    left = (status.step_ends_at - datetime.now(UTC)).total_seconds()
    return max(left, MIN_STEP_END_WAIT) if 0 < left < tick else None


def forget(memory: Memory, type_: str, namespace: str | None, name: str, uid: str | None) -> None:
    """On a rollout's deletion, its metric series and what this process remembers of it go. kopf
    stops a rollout's timer before it lets the object go (its finalizer), so no tick of it runs
    after this to remember it again."""
    if type_ == "DELETED" and namespace is not None:  # rollouts are namespaced: never None
        metrics.forget(namespace, name)
        memory.forget(uid if uid is not None else name)  # the tick's key (reconciling.py)


def register(
    registry: kopf.OperatorRegistry,
    settings: Settings,
    kube: Kube,
    with_gateway_api: bool,
    elector: Elector | None = None,
) -> None:
    """Register the handlers; HTTPRoutes are watched only where Gateway API is installed."""
    slots = Slots(settings.workers, grace=DUE_GRACE)
    memory = Memory()

    # The index and event handlers are coroutines: kopf runs a sync handler in a thread of its
    # executor (a hop per watch event: 2000 at the first listing of 500 rollouts' objects);
    # these only copy a few fields, so they run in the event loop itself. kopf's `namespace` is
    # None only for cluster-scoped objects: never for these kinds.
    @kopf.index("apps", "v1", "deployments", registry=registry, id="deployments")
    async def deployments(
        namespace: str | None, name: str, body: kopf.Body, **_: Any
    ) -> dict[tuple[str | None, str], DeploymentState]:
        return {(namespace, name): deployment_state(body)}

    if with_gateway_api:

        @kopf.index(
            gateway_api.GROUP,
            gateway_api.VERSION,
            gateway_api.PLURAL,
            registry=registry,
            id="httproutes",
        )
        async def httproutes(
            namespace: str | None, name: str, body: kopf.Body, **_: Any
        ) -> dict[tuple[str | None, str], dict[str, Any]]:
            # The resourceVersion lets the router write the route from this copy (gateway_api.py).
            meta = {"name": name, "resourceVersion": body.metadata.get("resourceVersion")}
            return {(namespace, name): {"metadata": meta, "spec": dict(body.spec)}}

    @kopf.timer(
        names.GROUP,
        names.VERSION,
        names.PLURAL,
        interval=settings.tick,
        backoff=max(1.0, settings.tick),
        registry=registry,
        id="reconcile",
    )
    async def reconcile(body: kopf.Body, logger: kopf.Logger, **kwargs: Any) -> None:
        # kopf passes timers their `stopped` flag as it does daemons; its TimerFn does not name it.
        stopped: kopf.DaemonStopped = kwargs["stopped"]
        cluster = reconciling.Cluster(
            kube=kube,
            deployments=_IndexView(kwargs["deployments"]),
            routes=_IndexView(kwargs.get("httproutes")),
            event=_event,
            memory=memory,
        )
        await _until(lambda: _has_finalizer(body), FINALIZER_WAIT, stopped)
        if elector is not None:
            resource = functools.partial(ApiResource, kube, body, _event)
            if not await _await_lease(elector, resource, stopped):
                return
            # Named once per rollout and leadership. That write moves the resourceVersion: the
            # tick waits for it in the live body, else its guarded commit would be refused and a
            # takeover would act a whole tick later.
            seen = body.metadata.get("resourceVersion")
            if await leadership.write(resource(), elector.snapshot()):
                moved = lambda: body.metadata.get("resourceVersion") != seen  # noqa: E731
                await _until(moved, OWN_WRITE_WAIT, stopped)
        status = await _fresh_tick(body, cluster, logger, slots, _due(body), stopped)
        # A dwell that ends before the next timer run: tick again at its end, not up to a tick
        # late (at tick 5 s, the lag from stepEndsAt to the route would be 0-5 s plus queueing).
        wait = _until_step_end(status, settings.tick)
        if wait is not None:
            await stopped.wait(wait)
            if not stopped:
                await _fresh_tick(body, cluster, logger, slots, Due(time.time()), stopped)

    # A watch-event handler, not on.delete: it needs no finalizer and no diff-base annotation,
    # so kopf makes no metadata writes of its own on the rollouts.
    @kopf.on.event(names.GROUP, names.VERSION, names.PLURAL, registry=registry, id="forget")
    async def deleted(
        type: str, namespace: str | None, name: str, uid: str | None, **_: Any
    ) -> None:
        forget(memory, type, namespace, name, uid)
