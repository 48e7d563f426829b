"""`spec.paused`: stop advancing (analysis and rollbacks go on); the dwell resumes where it was."""

from codemode_operator.apis import conditions
from codemode_operator.apis.conditions import PAUSED

from .tick import Tick


def sync(t: Tick) -> None:
    status = t.status
    if t.spec.paused and status.phase in ("Pending", "Progressing"):
        before = t.label()
        status.phase, status.paused_at = "Paused", t.now
        conditions.set_condition(status, PAUSED, True, "PausedBySpec", "spec.paused is true", t.now)
        t.record(before, "Paused", "spec.paused is true")
    elif not t.spec.paused and status.phase == "Paused":
        before = t.label()
        if status.step_ends_at is not None and status.paused_at is not None:
            status.step_ends_at += t.now - status.paused_at  # time paused does not count
        status.phase = "Progressing" if status.step_entered else "Pending"
        status.paused_at = None
        conditions.set_condition(status, PAUSED, False, "Resumed", "spec.paused is false", t.now)
        t.record(before, "Resumed", "spec.paused is false")
