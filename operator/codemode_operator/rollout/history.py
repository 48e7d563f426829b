"""The last transitions, for `kubectl describe` and post-mortems."""

from datetime import datetime

from codemode_operator.apis.status import HistoryEntry, RolloutStatus

KEEP = 20


def label(status: RolloutStatus, weight: int) -> str:
    """`Progressing 2/4 (25%)`: phase, step and weight in one short string."""
    if status.phase is None:
        return "-"
    step = f"{status.step_index + 1}/{status.step_count}"
    return f"{status.phase} {step} ({weight}%)"


def append(status: RolloutStatus, time: datetime, from_: str, to: str, reason: str) -> None:
    entry = HistoryEntry(time=time, from_=from_, to=to, reason=reason)
    status.history = [*status.history, entry][-KEEP:]
