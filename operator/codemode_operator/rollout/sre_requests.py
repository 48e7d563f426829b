"""Requests from the `codemode.io/request` annotation, applied exactly once.

The request is recorded in `status.lastRequest` and a ClearRequest follows. If the annotation is
still there next tick (the operator died before removing it), the same value with the record not
yet `cleared` is that request again: it is cleared, not applied twice.
"""

from collections.abc import Callable

from codemode_operator.apis.status import LastRequest

from . import phases
from .actions import ClearRequest, ScaleStable
from .tick import Tick


def _promote(t: Tick) -> str | None:
    if t.status.phase not in ("Progressing", "Paused") or not t.step.manual:
        return f"step {t.status.step} does not wait for approval"
    if t.status.step_approved:
        return f"step {t.status.step} is already approved"
    t.status.step_approved = True
    return None


def _skip(t: Tick) -> str | None:
    if t.status.phase not in ("Progressing", "Paused"):
        return f"nothing to skip while {t.status.phase}"
    t.status.step_approved = True
    t.status.step_ends_at = t.now  # the dwell ends; readiness and analysis still apply
    return None


def _abort(t: Tick) -> str | None:
    status = t.status
    if status.phase in ("RolledBack", "Aborted"):
        return f"already {status.phase}: all traffic is on v1"
    if status.stable_scaled_down_at is not None and status.stable_replicas is not None:
        # v1 was scaled to 0 after success: bring it back; traffic moves once it is available.
        t.actions.append(ScaleStable(status.stable_replicas))
        status.stable_scaled_down_at = None
    phases.end(t, "Aborted", "AbortRequested", "aborted by request: all traffic to v1")
    return None


def _retry(t: Tick) -> str | None:
    if t.status.phase not in ("RolledBack", "Aborted"):
        return f"retry applies after a rollback, not while {t.status.phase}"
    phases.start(t, "RetryRequested", "a new rollout from step 1")
    return None


_APPLY: dict[str, Callable[[Tick], str | None]] = {
    "promote": _promote,
    "skip": _skip,
    "abort": _abort,
    "retry": _retry,
}


def handle(t: Tick) -> None:
    name, last = t.observations.request, t.status.last_request
    if name is None:
        if last is not None:
            last.cleared = True
        return
    if last is not None and not last.cleared and last.name == name:
        t.actions.append(ClearRequest())  # already applied (or refused): only remove it
        return
    apply = _APPLY.get(name)
    refusal = apply(t) if apply else f"unknown request; use one of {', '.join(_APPLY)}"
    t.status.last_request = LastRequest(
        name=name,
        at=t.now,
        outcome="Refused" if refusal else "Applied",
        message=refusal or "",
    )
    if refusal:
        t.emit("RequestRefused", f"{name}: {refusal}", "Warning")
    else:
        t.emit("RequestApplied", name)
    t.actions.append(ClearRequest())
