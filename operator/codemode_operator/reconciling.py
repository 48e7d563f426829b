"""One tick for one rollout: observe, decide (pure), commit the status, then act.

The status write is the commit point. It carries the resourceVersion the tick started from, so
a tick that ran on a stale copy (kopf's watch lagging behind our own last write) is refused by
the API server and its decision dropped. Actions run only after the commit; anything they fail
to do is re-derived next tick from status + observations (a weight write is retried until the
router shows it, and a step's dwell starts only then), so a kill at any moment neither skips nor
repeats a step. Events are queued in the status with their transition and posted after the
commit under names that make a repeated post a no-op, so a kill loses none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import kubernetes

from codemode_operator import metrics
from codemode_operator.adapters import events, jobs, notifications, prometheus
from codemode_operator.adapters.kube import Kube
from codemode_operator.adapters.routers import Router
from codemode_operator.adapters.routers.gateway_api import GatewayAPIRouter
from codemode_operator.adapters.routers.replicas import ReplicasRouter
from codemode_operator.rollout import (
    REQUEST_ANNOTATION,
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
    metrics_window,
    notification,
)
from codemode_operator.rollout.conditions import RECONCILE_ERROR, get_condition, set_condition
from codemode_operator.rollout.events import trim_waits
from codemode_operator.rollout.status import NotificationsStatus
from codemode_operator.rollout.weight import desired

GROUP, VERSION, PLURAL = "codemode.io", "v1alpha1", "codemoderollouts"
# Transitions, one line each (kopf's own per-tick success lines are silenced in __main__).
TRANSITIONS_LOG = logging.getLogger("codemode.rollout")
EventFn = Callable[[Mapping[str, Any], str, str, str], None]
# kopf hands a handler its per-object LoggerAdapter; a plain Logger does as well.
Logger = logging.Logger | logging.LoggerAdapter[Any]


@dataclass(frozen=True)
class Cluster:
    """What a tick may read and write: the client and kopf's watched copies."""

    kube: Kube
    deployments: Mapping[tuple[str, str], DeploymentState]
    routes: Mapping[tuple[str, str], Mapping[str, Any]]
    event: EventFn


def _router(spec: RolloutSpec, namespace: str, cluster: Cluster) -> Router:
    if spec.router.type == "replicas" and spec.router.replicas is not None:
        observed = (
            cluster.deployments.get((namespace, spec.stable.deployment)),
            cluster.deployments.get((namespace, spec.canary.deployment)),
        )
        return ReplicasRouter(
            cluster.kube,
            namespace,
            spec.stable.deployment,
            spec.canary.deployment,
            spec.router.replicas.total,
            observed,
        )
    assert spec.router.gateway_api is not None  # the CRD requires it for this type
    route = spec.router.gateway_api.http_route
    return GatewayAPIRouter(
        cluster.kube,
        namespace,
        route,
        spec.stable.service,
        spec.canary.service,
        cluster.routes.get((namespace, route)),
    )


async def _observe(
    body: Mapping[str, Any],
    spec: RolloutSpec,
    status: RolloutStatus,
    router: Router,
    cluster: Cluster,
    now: datetime,
) -> Observations:
    meta = body["metadata"]
    namespace = meta["namespace"]
    window = metrics_window(spec, status, now)
    gated = any(step.gates for step in spec.steps)
    return Observations(
        generation=meta.get("generation", 0),
        canary=cluster.deployments.get((namespace, spec.canary.deployment)),
        stable=cluster.deployments.get((namespace, spec.stable.deployment)),
        router_weight=router.read_weight(desired(spec, status)),
        router_pins=router.read_pins(),
        metrics=await prometheus.sample(spec.analysis, window)
        if window and spec.analysis
        else None,
        request=(meta.get("annotations") or {}).get(REQUEST_ANNOTATION),
        gates=await jobs.observe(cluster.kube, namespace, meta["name"], status.attempt)
        if gated
        else (),
    )


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


async def commit(
    cluster: Cluster, body: Mapping[str, Any], patch: dict[str, Any], guarded: bool = True
) -> str | None:
    """Patch the status; `guarded`: only if nothing changed since `body` (else None).

    Returns the stored resourceVersion, which a follow-up write of this tick is guarded with."""
    meta = body["metadata"]
    payload: dict[str, Any] = {"status": patch}
    if guarded:
        payload["metadata"] = {"resourceVersion": meta["resourceVersion"]}
    try:
        stored = await asyncio.to_thread(
            cluster.kube.custom.patch_namespaced_custom_object_status,
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


async def _act(
    body: Mapping[str, Any],
    spec: RolloutSpec,
    router: Router,
    cluster: Cluster,
    actions: tuple[Any, ...],
    logger: Logger,
) -> None:
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    for action in actions:
        try:
            if isinstance(action, SetWeight):
                await router.set_weight(action.weight)
            elif isinstance(action, SetPins):
                await router.set_pins(action.versions)
            elif isinstance(action, ScaleStable):
                await cluster.kube.scale(namespace, spec.stable.deployment, action.replicas)
            elif isinstance(action, RunGateJob):
                gate = spec.steps[action.step].gates[action.index]
                await cluster.kube.create_job(namespace, jobs.job_body(body, action, gate.job))
            elif isinstance(action, ClearRequest):
                patch = {"metadata": {"annotations": {REQUEST_ANNOTATION: None}}}
                await asyncio.to_thread(
                    cluster.kube.custom.patch_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    namespace,
                    PLURAL,
                    name,
                    patch,
                )
        except Exception as error:  # the next tick re-derives it from status + observations
            logger.warning("action %s failed: %s", action, error)
            cluster.event(body, "Warning", "ActionFailed", f"{action}: {error}"[:1000])


# Per rollout (uid), the highest Event seq this process posted. Those records leave the outbox
# with the rollout's next status write rather than with a write of their own: one PATCH fewer
# per transition (at 500 rollouts, 2500 of 7100 status writes). A stale copy never drops a
# newer record (higher seq); after a restart they are posted again, which creates nothing.
_POSTED: dict[str, int] = {}


def _drop_posted(status: RolloutStatus, uid: str) -> None:
    posted = _POSTED.get(uid, 0)
    status.events.outbox = [r for r in status.events.outbox if r.seq > posted]


async def _post_events(
    body: Mapping[str, Any],
    status: RolloutStatus,
    cluster: Cluster,
    logger: Logger,
) -> None:
    """Post the Events outbox in order (after this tick's commit); what was posted is dropped
    from the outbox by the next one (`_drop_posted`)."""
    meta = body["metadata"]
    uid = meta.get("uid", meta["name"])
    for record in status.events.outbox:
        if record.seq <= _POSTED.get(uid, 0):
            continue
        try:
            fresh = await events.post(cluster.kube, body, record)
        except Exception as error:  # kept, in order, for the next tick
            logger.warning("event %d (%s) not posted: %s", record.seq, record.reason, error)
            break
        _POSTED[uid] = record.seq
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


# Per rollout (uid), the delivery fields this process last wrote: a lagging watch copy of the
# status may not show them yet, and a notification must not go out twice for it.
_DELIVERY: dict[str, NotificationsStatus] = {}
_DELIVERY_FIELDS = ("delivered", "attempts", "next_attempt_at", "last_error")


async def _notify(
    body: Mapping[str, Any],
    spec: RolloutSpec,
    status: RolloutStatus,
    cluster: Cluster,
    now: datetime,
) -> None:
    """Send the notification that is due, if any; a failure never stops the rollout."""
    meta = body["metadata"]
    namespace, name, uid = meta["namespace"], meta["name"], meta.get("uid", meta["name"])
    state, mine = status.notifications, _DELIVERY.get(uid)
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
        cluster.event(body, "Warning", "NotificationFailed", message[:1000])
        metrics.NOTIFICATIONS.labels(namespace, name, "failed").inc()
    else:
        state = notification.sent(state, note)
        metrics.NOTIFICATIONS.labels(namespace, name, "sent").inc()
    _DELIVERY[uid] = state
    # These fields are the notifier's alone: no resourceVersion, so a tick's write between the
    # send and this one cannot make the record of a delivery fail (and the message go twice).
    await commit(cluster, body, notification.delivery_patch(state), guarded=False)


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
    body: Mapping[str, Any],
    cluster: Cluster,
    error: Exception,
    now: datetime,
    logger: Logger,
) -> None:
    """Put a failed tick on the rollout itself: a condition and a Warning event."""
    updated = failure_conditions((body.get("status") or {}).get("conditions"), error, now)
    if updated is None:
        return
    message = next(str(c["message"]) for c in updated if c["type"] == RECONCILE_ERROR)
    try:
        if await commit(cluster, body, {"conditions": updated}) is not None:
            cluster.event(body, "Warning", RECONCILE_ERROR, message)
    except Exception as report_error:  # the tick's own error is what kopf logs and retries
        logger.warning("could not report the failed tick: %s", report_error)


async def reconcile(
    body: Mapping[str, Any], cluster: Cluster, logger: Logger, now: datetime | None = None
) -> RolloutStatus | None:
    """Returns the committed status, or None when this tick's copy was stale.

    A tick that raises (a bug, a status edited by hand, an input the CRD let through) is never
    a silent loop: the rollout gets a `ReconcileError` condition and a Warning event."""
    now = now or datetime.now(UTC)
    try:
        return await _tick(body, cluster, logger, now)
    except Exception as error:
        await _report_failure(body, cluster, error, now, logger)
        raise


async def _tick(
    body: Mapping[str, Any], cluster: Cluster, logger: Logger, now: datetime
) -> RolloutStatus | None:
    spec = RolloutSpec.model_validate(body.get("spec") or {})
    old = dict(body.get("status") or {})
    status = RolloutStatus.model_validate(old)
    namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
    router = _router(spec, namespace, cluster)
    observations = await _observe(body, spec, status, router, cluster, now)
    decision = decide(spec, status, observations, now)
    failed = get_condition(decision.status, RECONCILE_ERROR)
    if failed is not None and failed.status == "True":
        set_condition(decision.status, RECONCILE_ERROR, False, "Reconciled", "ticks succeed", now)
    new = decision.status.to_crd(analysed=spec.analysis is not None)
    # Posted Events leave the outbox with a write there is anyway (rollout/events.py).
    if status_patch(old, new) or not trim_waits(decision.status, now):
        _drop_posted(decision.status, body["metadata"].get("uid", name))
        new = decision.status.to_crd(analysed=spec.analysis is not None)
    patch = status_patch(old, new)
    # A status that stays as it is may still act (Succeeded puts the router back to 100%): on a
    # stale copy that would undo a newer decision, so the tick asks the API server all the same
    # (an empty guarded patch: refused when stale, else no write).
    acts = any(not isinstance(action, Emit) for action in decision.actions)
    if (patch or acts) and await commit(cluster, body, patch) is None:
        return None
    await _act(body, spec, router, cluster, decision.actions, logger)
    await _post_events(body, decision.status, cluster, logger)
    await _notify(body, spec, decision.status, cluster, now)
    reasons = [a.reason for a in decision.actions if isinstance(a, Emit)]
    metrics.record(namespace, name, decision.status, reasons)
    if decision.status.phase == "RolledBack" and status.phase != "RolledBack":
        metrics.ROLLBACKS.labels(namespace, name, reasons[-1] if reasons else "").inc()
    return decision.status
