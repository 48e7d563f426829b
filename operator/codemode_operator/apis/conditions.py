"""Kubernetes-style conditions; a transition time changes only when the status flips."""

from datetime import datetime

from .status import Condition, ConditionStatus, RolloutStatus

PROGRESSING = "Progressing"
PAUSED = "Paused"
HEALTHY = "Healthy"
ANALYSIS_PASSING = "AnalysisPassing"
ROLLED_BACK = "RolledBack"
RECONCILE_ERROR = (
    "ReconcileError"  # a tick raised: set by the handlers, cleared by the next good tick
)
SESSIONS_PINNED = "SessionsPinned"  # the router keeps each conversation on its version
CONTROLLER = "Controller"  # which operator replica holds the lease (leadership.py)


def set_condition(
    status: RolloutStatus,
    type_: str,
    value: ConditionStatus | bool,
    reason: str,
    message: str,
    now: datetime,
) -> None:
    state: ConditionStatus = value if isinstance(value, str) else ("True" if value else "False")
    old = next((c for c in status.conditions if c.type == type_), None)
    since = old.last_transition_time if old and old.status == state else now
    new = Condition(
        type=type_, status=state, reason=reason, message=message, last_transition_time=since
    )
    status.conditions = [c for c in status.conditions if c.type != type_] + [new]
    status.conditions.sort(key=lambda c: c.type)


def get_condition(status: RolloutStatus, type_: str) -> Condition | None:
    return next((c for c in status.conditions if c.type == type_), None)
