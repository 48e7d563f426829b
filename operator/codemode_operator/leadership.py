"""The `Controller` condition: which replica reconciles a rollout, or why none does.

The active replica names itself (once per rollout and leadership); a standby writes only when
no replica can hold the lease (RBAC, an unreachable API), so that a rollout which stands still
says why. A standby never overwrites another replica's claim: it cannot tell a live leader from
a dead one before the lease expires, and then it is the leader itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from codemode_operator.adapters.lease import Leadership
from codemode_operator.adapters.resource import Resource
from codemode_operator.apis.conditions import CONTROLLER, get_condition, set_condition
from codemode_operator.apis.status import Condition, ConditionStatus
from codemode_operator.rollout import RolloutStatus

LEADING, LEASE_UNAVAILABLE = "Leading", "LeaseUnavailable"


def wanted(leadership: Leadership) -> tuple[ConditionStatus, str, str] | None:
    """(status, reason, message) this replica stands for; None: nothing to say."""
    if leadership.leading:
        return "True", LEADING, f"reconciled by {leadership.identity} (lease {leadership.lease})"
    if leadership.problem is not None:
        # No replica's name here: every standby writes the same words, so they do not flap.
        message = (
            f"waiting for a leader: lease {leadership.lease} cannot be used: {leadership.problem}"
        )
        return "False", LEASE_UNAVAILABLE, message[:1000]
    return None


def update(status: RolloutStatus, leadership: Leadership, now: datetime) -> Condition | None:
    """The new Controller condition, or None when the status already says it (or must not)."""
    target = wanted(leadership)
    if target is None:
        return None
    old = get_condition(status, CONTROLLER)
    claimed_by_other = (
        old is not None
        and old.status == "True"
        and not old.message.startswith(f"reconciled by {leadership.identity} ")
    )
    if not leadership.leading and claimed_by_other:
        return None
    if old is not None and (old.status, old.reason, old.message) == target:
        return None
    set_condition(status, CONTROLLER, target[0], target[1], target[2], now)
    return get_condition(status, CONTROLLER)


async def write(resource: Resource, leadership: Leadership) -> bool:
    """Write the Controller condition if it changes; True if written. The write carries the
    body's resourceVersion: a concurrent status write wins, and the next tick tries again."""
    target = wanted(leadership)
    raw = resource.body.get("status") or {}
    old: Mapping[str, Any] = next(
        (c for c in raw.get("conditions", ()) if c.get("type") == CONTROLLER), {}
    )
    if target is None or (old.get("status"), old.get("reason"), old.get("message")) == target:
        return False  # the common case, every tick of the leader: no model to build
    status = RolloutStatus.model_validate(raw)
    condition = update(status, leadership, datetime.now(UTC))
    if condition is None:
        return False
    # A merge patch replaces a list whole: all conditions, this one changed.
    conditions = [c.to_dict() for c in status.conditions]
    if await resource.commit({"conditions": conditions}) is None:
        return False
    if condition.status == "False":
        resource.event("Warning", condition.reason, condition.message)
    return True
