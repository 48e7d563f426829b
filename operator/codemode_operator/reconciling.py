"""One tick for one rollout: observe, decide (pure), commit the status, act, post and notify.

The status write is the commit point (adapters/resource.py): guarded by the resourceVersion of
the copy the tick read, so a tick on a stale copy is refused and its decision dropped. Actions
run only after the commit; anything they fail to do is re-derived next tick from status +
observations (a weight write is retried until the router shows it, and a step's dwell starts
only then), so a kill at any moment neither skips nor repeats a step. Events are queued in the
status with their transition and posted after the commit under names that make a repeated post
a no-op, so a kill loses none. The rollout's own object and its router are reached through
their interfaces (`Resource`, `Router`) alone, so the tick runs on in-memory fakes of them too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from codemode_operator import metrics
from codemode_operator.adapters import jobs, notifications, prometheus
from codemode_operator.adapters.kube import Kube
from codemode_operator.adapters.resource import ApiResource, EventFn, Resource, status_patch
from codemode_operator.adapters.routers import Router, for_rollout
from codemode_operator.apis.conditions import RECONCILE_ERROR, get_condition, set_condition
from codemode_operator.apis.names import REQUEST_ANNOTATION
from codemode_operator.memory import Memory, Recall
from codemode_operator.rollout import (
    ClearRequest,
    DeploymentState,
    Emit,
    Observations,
    RolloutSpec,
    RolloutStatus,
    RunGateJob,
    ScaleStable,
    SetPins,
    SetWeight,
    decide,
    notification,
    plan,
)
from codemode_operator.rollout.events import trim_waits

# Transitions, one line each (kopf's own per-tick success lines are silenced in __main__).
TRANSITIONS_LOG = logging.getLogger("codemode.rollout")
# kopf hands a handler its per-object LoggerAdapter; a plain Logger does as well.
Logger = logging.Logger | logging.LoggerAdapter[Any]


@dataclass(frozen=True)
class Cluster:
    """What a tick may read and write besides the rollout itself: the client, kopf's watched
    copies, and what this process remembers of each rollout (one `Memory` for the process)."""

    kube: Kube
    deployments: Mapping[tuple[str, str], DeploymentState]
    routes: Mapping[tuple[str, str], Mapping[str, Any]]
    event: EventFn
    memory: Memory


# The rollout's router, chosen by its spec (parsed inside the tick: a bad spec is the tick's
# failure, reported on the rollout).
RouterFor = Callable[[RolloutSpec], Router]


async def _observe(
    resource: Resource,
    spec: RolloutSpec,
    status: RolloutStatus,
    router: Router,
    cluster: Cluster,
    now: datetime,
) -> Observations:
    meta = resource.body["metadata"]
    namespace = meta["namespace"]
    wanted = plan(spec, status, now)
    return Observations(
        generation=meta.get("generation", 0),
        canary=cluster.deployments.get((namespace, spec.canary.deployment)),
        stable=cluster.deployments.get((namespace, spec.stable.deployment)),
        router_weight=router.verify_weight(wanted.weight),
        router_pins=router.read_pins(),
        metrics=await prometheus.sample(spec.analysis, wanted.window)
        if wanted.window and spec.analysis
        else None,
        request=(meta.get("annotations") or {}).get(REQUEST_ANNOTATION),
        gates=await jobs.observe(cluster.kube, namespace, meta["name"], status.attempt)
        if wanted.gates
        else (),
    )


async def _act(
    resource: Resource,
    router: Router,
    cluster: Cluster,
    actions: tuple[Any, ...],
    logger: Logger,
) -> None:
    namespace = resource.body["metadata"]["namespace"]
    for action in actions:
        try:
            if isinstance(action, SetWeight):
                await router.set_weight(action.weight)
            elif isinstance(action, SetPins):
                await router.set_pins(action.versions)
            elif isinstance(action, ScaleStable):
                await cluster.kube.scale(namespace, action.deployment, action.replicas)
            elif isinstance(action, RunGateJob):
                job = jobs.job_body(resource.body, action)
                await cluster.kube.create_job(namespace, job)
            elif isinstance(action, ClearRequest):
                await resource.clear_request()
        except Exception as error:  # the next tick re-derives it from status + observations
            logger.warning("action %s failed: %s", action, error)
            resource.event("Warning", "ActionFailed", f"{action}: {error}"[:1000])


def _drop_posted(status: RolloutStatus, recall: Recall) -> None:
    status.events.outbox = [r for r in status.events.outbox if r.seq > recall.posted]


async def _post_events(
    resource: Resource, status: RolloutStatus, recall: Recall, logger: Logger
) -> None:
    """Post the Events outbox in order (after this tick's commit); what was posted is dropped
    from the outbox by the next one (`_drop_posted`)."""
    meta = resource.body["metadata"]
    for record in status.events.outbox:
        if record.seq <= recall.posted:
            continue
        try:
            fresh = await resource.post(record)
        except Exception as error:  # kept, in order, for the next tick
            logger.warning("event %d (%s) not posted: %s", record.seq, record.reason, error)
            break
        recall.posted = record.seq
        if fresh:
            level = logging.WARNING if record.type == "Warning" else logging.INFO
            TRANSITIONS_LOG.log(
                level,
                "%s/%s %s: %s",
                meta["namespace"],
                meta["name"],
                record.reason,
                record.message,
            )


_DELIVERY_FIELDS = ("delivered", "attempts", "next_attempt_at", "last_error")


async def _notify(
    resource: Resource,
    spec: RolloutSpec,
    status: RolloutStatus,
    cluster: Cluster,
    recall: Recall,
    now: datetime,
) -> None:
    """Send the notification that is due, if any; a failure never stops the rollout."""
    meta = resource.body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    state, mine = status.notifications, recall.delivery
    if spec.notifications is None or state is None:
        return
    if mine is not None and mine.delivered >= state.delivered:
        state = state.model_copy(update={k: getattr(mine, k) for k in _DELIVERY_FIELDS})
    note = notification.due(spec, status.model_copy(update={"notifications": state}), now)
    if note is None:
        return
    try:
        await notifications.send(cluster.kube, namespace, name, spec.notifications, note)
    except Exception as error:  # DeliveryError, or a bug of a receiver's plugin: retry later
        reason = str(error) if isinstance(error, notifications.DeliveryError) else repr(error)
        state = notification.failed(state, now, reason)
        message = (
            f"notification {note.seq} ({note.transition}): {reason}; "
            f"retry at {state.next_attempt_at:%H:%M:%S}"
        )
        resource.event("Warning", "NotificationFailed", message[:1000])
        metrics.NOTIFICATIONS.labels(namespace, name, "failed").inc()
    else:
        state = notification.sent(state, note)
        metrics.NOTIFICATIONS.labels(namespace, name, "sent").inc()
    recall.delivery = state
    # These fields are the notifier's alone: no resourceVersion, so a tick's write between the
    # send and this one cannot make the record of a delivery fail (and the message go twice).
    await resource.commit(notification.delivery_patch(state), guarded=False)


def failure_conditions(
    conditions: Any, error: BaseException, now: datetime
) -> list[dict[str, Any]] | None:
    """The conditions with `ReconcileError` True for `error`; None when they say so already
    (one Warning event per distinct failure, not one per tick of a failing loop)."""
    kept = [c for c in conditions if isinstance(c, Mapping)] if isinstance(conditions, list) else []
    before = next((c for c in kept if c.get("type") == RECONCILE_ERROR), {})
    message = " ".join(f"{type(error).__name__}: {error}".split())[:1000]
    failing = before.get("status") == "True"
    if failing and before.get("message") == message:
        return None
    since = before.get("lastTransitionTime") if failing else None
    condition = {
        "type": RECONCILE_ERROR,
        "status": "True",
        "reason": "TickFailed",
        "message": message,
        "lastTransitionTime": since or now.isoformat().replace("+00:00", "Z"),
    }
    others = [dict(c) for c in kept if c.get("type") != RECONCILE_ERROR]
    return sorted([*others, condition], key=lambda c: str(c.get("type")))


async def _report_failure(
    resource: Resource, error: Exception, now: datetime, logger: Logger
) -> None:
    """Put a failed tick on the rollout itself: a condition and a Warning event."""
    status = resource.body.get("status") or {}
    updated = failure_conditions(status.get("conditions"), error, now)
    if updated is None:
        return
    message = next(str(c["message"]) for c in updated if c["type"] == RECONCILE_ERROR)
    try:
        if await resource.commit({"conditions": updated}) is not None:
            resource.event("Warning", RECONCILE_ERROR, message)
    except Exception as report_error:  # the tick's own error is what kopf logs and retries
        logger.warning("could not report the failed tick: %s", report_error)


async def reconcile(
    body: Mapping[str, Any], cluster: Cluster, logger: Logger, now: datetime | None = None
) -> RolloutStatus | None:
    """The timer's tick: on the rollout's object and its router in the cluster."""
    return await run(
        ApiResource(cluster.kube, body, cluster.event),
        lambda spec: for_rollout(
            spec, body["metadata"]["namespace"], cluster.kube, cluster.deployments, cluster.routes
        ),
        cluster,
        logger,
        now or datetime.now(UTC),
    )


async def run(
    resource: Resource, router_for: RouterFor, cluster: Cluster, logger: Logger, now: datetime
) -> RolloutStatus | None:
    """Returns the committed status, or None when this tick's copy was stale.

    A tick that raises (a bug, a status edited by hand, an input the CRD let through) is never
    a silent loop: the rollout gets a `ReconcileError` condition and a Warning event."""
    try:
        return await _tick(resource, router_for, cluster, logger, now)
    except Exception as error:
        await _report_failure(resource, error, now, logger)
        raise


async def _tick(
    resource: Resource, router_for: RouterFor, cluster: Cluster, logger: Logger, now: datetime
) -> RolloutStatus | None:
    body = resource.body
    spec = RolloutSpec.model_validate(body.get("spec") or {})
    old = dict(body.get("status") or {})
    status = RolloutStatus.model_validate(old)
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    recall = cluster.memory.of(meta.get("uid", name))
    router = router_for(spec)
    observations = await _observe(resource, spec, status, router, cluster, now)
    decision = decide(spec, status, observations, now)
    failed = get_condition(decision.status, RECONCILE_ERROR)
    if failed is not None and failed.status == "True":
        set_condition(decision.status, RECONCILE_ERROR, False, "Reconciled", "ticks succeed", now)
    new = decision.status.to_crd(analysed=spec.analysis is not None)
    # Posted Events leave the outbox with a write there is anyway (rollout/events.py).
    if status_patch(old, new) or not trim_waits(decision.status, now):
        _drop_posted(decision.status, recall)
        new = decision.status.to_crd(analysed=spec.analysis is not None)
    patch = status_patch(old, new)
    # A status that stays as it is may still act (Succeeded puts the router back to 100%): on a
    # stale copy that would undo a newer decision, so the tick asks the API server all the same
    # (an empty guarded patch: refused when stale, else no write).
    acts = any(not isinstance(action, Emit) for action in decision.actions)
    if (patch or acts) and await resource.commit(patch) is None:
        return None
    await _act(resource, router, cluster, decision.actions, logger)
    await _post_events(resource, decision.status, recall, logger)
    await _notify(resource, spec, decision.status, cluster, recall, now)
    reasons = [a.reason for a in decision.actions if isinstance(a, Emit)]
    metrics.record(namespace, name, decision.status, reasons)
    if decision.status.phase == "RolledBack" and status.phase != "RolledBack":
        metrics.ROLLBACKS.labels(namespace, name, reasons[-1] if reasons else "").inc()
    return decision.status
