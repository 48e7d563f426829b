"""The Events outbox: an Event is queued in the same status write as the transition it tells.

Sent only after that write, an Event was lost when the operator died in between. Queued in the
status, each one is posted after the commit under a name derived from its `seq` (the API server
refuses a second Event of that name), and removed from the outbox by the status write after its
post: a restart posts what is left, and a post repeated after a crash creates nothing new.
While a dwell runs that write waits for the dwell's end (`trim_waits`): removing them is not a
write of its own.
"""

from datetime import datetime
from typing import Literal

from codemode_operator.apis.status import EventRecord, RolloutStatus

# Undeliverable for long (e.g. no RBAC for events) the outbox must not grow the status without
# bound: the oldest go first.
KEEP = 50
MESSAGE_LIMIT = 1000  # an Event's message is cut at 1024 by kubectl's display conventions


def queue(
    status: RolloutStatus,
    now: datetime,
    type_: Literal["Normal", "Warning"],
    reason: str,
    message: str,
) -> None:
    events = status.events
    events.queued += 1
    record = EventRecord(
        seq=events.queued, time=now, type=type_, reason=reason, message=message[:MESSAGE_LIMIT]
    )
    events.outbox = [*events.outbox, record][-KEEP:]


def trim_waits(status: RolloutStatus, now: datetime) -> bool:
    """True while a timed dwell runs: the next write there is anyway (`stepRemaining` changes
    within a minute, and the dwell's end) takes the posted records out of the outbox. A write
    for their removal alone cost one status PATCH per step (500 rollouts x 4 steps: 2000, in
    the bursts of ticks ending dwells). A rollout paused, held for approval or finished has no
    such write coming: not then."""
    return (
        status.phase == "Progressing"
        and status.applying is None
        and status.step_ends_at is not None
        and now < status.step_ends_at
    )
