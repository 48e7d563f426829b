"""Which transitions to tell people of, what to say, and when to try again (all pure).

A notification is queued in the status write that records its transition and leaves the outbox
only once a receiver has taken it (the adapter sends, the shell records `delivered`), so an
operator killed at any moment neither loses one nor, except in the instant between a
receiver's answer and that record, sends one twice; `seq` lets a receiver drop that repeat.
"""

from datetime import datetime, timedelta

from codemode_operator.apis.spec import RolloutSpec, Transition
from codemode_operator.apis.status import (
    Notification,
    NotificationSeverity,
    NotificationsStatus,
    RolloutStatus,
)

KEEP = 20  # an outbox of a receiver down for days keeps the newest
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=5)
SEVERITY: dict[Transition, NotificationSeverity] = {
    "StepStarted": "info",
    "Succeeded": "success",
    "SuspectedRegression": "warning",
    "MetricsUnavailable": "warning",
    "RolledBack": "failure",
    "Aborted": "failure",
}


def transition(status: RolloutStatus, reason: str) -> Transition | None:
    """The kind of a recorded transition people may be told of (None: not one of those)."""
    if status.phase == "RolledBack" or status.phase == "Aborted":
        return status.phase
    return (
        "Succeeded" if reason == "Succeeded" else "StepStarted" if reason == "StepStarted" else None
    )


def render(
    kind: Transition, reason: str, message: str, status: RolloutStatus, label: str
) -> tuple[str, str]:
    """Title and body: what happened, why (the figures), and where the rollout is now."""
    title = kind if kind == reason else f"{kind} ({reason})"
    lines = [message]
    record = status.analysis
    if record.message and record.message not in message:
        lines.append(f"last analysis: {record.message}")
    lines.append(f"now {label}, attempt {status.attempt}")
    return title, "\n".join(lines)


def queue(
    spec: RolloutSpec,
    status: RolloutStatus,
    now: datetime,
    kind: Transition,
    reason: str,
    message: str,
    label: str,
) -> None:
    """Put a transition in the outbox, when the rollout asks to be told of that kind."""
    wanted = spec.notifications
    if wanted is None or kind not in wanted.transitions:
        return
    state = status.notifications or NotificationsStatus()
    title, body = render(kind, reason, message, status, label)
    note = Notification(
        seq=state.queued + 1,
        time=now,
        transition=kind,
        severity=SEVERITY[kind],
        title=title,
        body=body,
    )
    outbox = [n for n in state.outbox if n.seq > state.delivered] + [note]
    status.notifications = state.model_copy(update={"queued": note.seq, "outbox": outbox[-KEEP:]})


def prune(status: RolloutStatus) -> None:
    """Drop what was delivered from the outbox (the shell only moves `delivered`)."""
    state = status.notifications
    if state is not None and any(n.seq <= state.delivered for n in state.outbox):
        outbox = [n for n in state.outbox if n.seq > state.delivered]
        status.notifications = state.model_copy(update={"outbox": outbox})


def due(
    spec: RolloutSpec, status: RolloutStatus, now: datetime, delivered: int = 0
) -> Notification | None:
    """The oldest undelivered notification, once its retry time has come.

    `delivered`: the shell's own record of the last seq it sent, which a lagging copy of the
    status may not show yet (so it is never sent twice)."""
    state = status.notifications
    if spec.notifications is None or state is None:
        return None
    if state.next_attempt_at is not None and now < state.next_attempt_at:
        return None
    floor = max(state.delivered, delivered)
    return next((n for n in state.outbox if n.seq > floor), None)


def sent(state: NotificationsStatus, note: Notification) -> NotificationsStatus:
    """After a receiver took `note`."""
    return state.model_copy(
        update={
            "delivered": max(state.delivered, note.seq),
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": None,
        }
    )


def failed(state: NotificationsStatus, now: datetime, error: str) -> NotificationsStatus:
    """After a failed attempt: try again later, 5 s doubling up to 5 min; never give up
    (the outbox is bounded, and an SRE sees NotificationFailed events meanwhile)."""
    attempts = state.attempts + 1
    wait = min(LONGEST_RETRY, FIRST_RETRY * 2 ** min(attempts - 1, 16))
    return state.model_copy(
        update={"attempts": attempts, "next_attempt_at": now + wait, "last_error": error[:500]}
    )


# What the shell writes after an attempt, apart from the tick's own status commit.
DELIVERY_FIELDS = ("delivered", "attempts", "nextAttemptAt", "lastError")


def delivery_patch(state: NotificationsStatus) -> dict[str, object]:
    """The merge patch of the delivery fields (None clears a field)."""
    fields = state.model_dump(mode="json", by_alias=True)
    return {"notifications": {key: fields[key] for key in DELIVERY_FIELDS}}
