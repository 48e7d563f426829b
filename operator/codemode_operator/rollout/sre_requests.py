"""Requests from the `codemode.io/request` annotation, applied exactly once.

The request is recorded in `status.lastRequest` and a ClearRequest follows. If the annotation is
still there next tick (the operator died before removing it), the same value with the record not
yet `cleared` is that request again: it is cleared, not applied twice.
"""

from collections.abc import Callable

from codemode_operator.apis.controls import REQUESTS, ControlState, Request, is_request, refusal
from codemode_operator.apis.status import LastRequest

from . import phases
from .actions import ClearRequest, ScaleStable
from .tick import Tick


def control_state(t: Tick) -> ControlState:
    """The facts the control rules read, as `kubectl codemode` reads them from the resource."""
    status, steps = t.status, t.spec.steps
    return ControlState(
        phase=status.phase or "Pending",
        step=status.step or "?",
        waits_for_approval=0 <= status.step_index < len(steps) and t.step.manual,
        approved=status.step_approved,
        paused=t.spec.paused,
    )


def _promote(t: Tick) -> None:
    t.status.step_approved = True


def _skip(t: Tick) -> None:
    t.status.step_approved = True
    t.status.step_ends_at = t.now  # the dwell ends; readiness and analysis still apply


def _abort(t: Tick) -> None:
    status = t.status
    if status.stable_scaled_down_at is not None and status.stable_replicas is not None:
        # v1 was scaled to 0 after success: bring it back; traffic moves once it is available.
        t.actions.append(ScaleStable(t.spec.stable.deployment, status.stable_replicas))
        status.stable_scaled_down_at = None
    phases.end(t, "Aborted", "AbortRequested", "aborted by request: all traffic to v1")


def _retry(t: Tick) -> None:
    phases.start(t, "RetryRequested", "a new rollout from step 1")


# Which request fits which state is apis/controls.py's, shared with `kubectl codemode`.
_APPLY: dict[Request, Callable[[Tick], None]] = {
    "promote": _promote,
    "skip": _skip,
    "abort": _abort,
    "retry": _retry,
}


def _apply(t: Tick, name: str) -> str | None:
    """Apply the request, or say why it is refused."""
    if not is_request(name):
        return f"unknown request; use one of {', '.join(REQUESTS)}"
    why = refusal(name, control_state(t))
    if why is None:
        _APPLY[name](t)
    return why


def handle(t: Tick) -> None:
    name, last = t.observations.request, t.status.last_request
    if name is None:
        if last is not None:
            last.cleared = True
        return
    if last is not None and not last.cleared and last.name == name:
        t.actions.append(ClearRequest())  # already applied (or refused): only remove it
        return
    why = _apply(t, name)
    t.status.last_request = LastRequest(
        name=name,
        at=t.now,
        outcome="Refused" if why else "Applied",
        message=why or "",
    )
    if why:
        t.emit("RequestRefused", f"{name}: {why}", "Warning")
    else:
        t.emit("RequestApplied", name)
    t.actions.append(ClearRequest())
