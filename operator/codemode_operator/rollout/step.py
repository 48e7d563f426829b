"""The current step: entering it, its dwell, and what it still waits for."""

from datetime import datetime, timedelta

from codemode_operator.apis import conditions
from codemode_operator.apis.conditions import PROGRESSING
from codemode_operator.apis.duration import format_remaining
from codemode_operator.apis.names import REQUEST_ANNOTATION
from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import STEPPING_PHASES, Applying, RolloutStatus

from . import phases, suspicion, weight
from .actions import RunGateJob
from .tick import Tick


def remaining(status: RolloutStatus, now: datetime) -> timedelta | None:
    if status.step_ends_at is None:
        return None
    return max(timedelta(0), status.step_ends_at - now)


def describe(spec: RolloutSpec, status: RolloutStatus, now: datetime) -> None:
    """The printer columns: `step` ("2/4"), `stepRemaining` ("12m") and `verdict`."""
    status.step_count = len(spec.steps)
    status.verdict = status.analysis.verdict if spec.analysis is not None else "-"
    status.step = f"{status.step_index + 1}/{status.step_count}"
    left = remaining(status, now) if status.phase in STEPPING_PHASES else None
    current = spec.steps[status.step_index]
    if status.applying is not None and not current.manual:
        left = current.dwell  # not started yet: all of it is left
    status.step_remaining = format_remaining(left) if left is not None else None


def ends_at(t: Tick) -> datetime | None:
    """A timed step ends after its dwell; a manual one when approved (None until then)."""
    started = t.status.step_started_at
    return None if t.step.manual or started is None else started + t.step.dwell


def _new_interval(status: RolloutStatus, now: datetime) -> None:
    # A new weight starts a new analysis interval: one interval never mixes two shares.
    status.analysis.window_start = now
    status.analysis.step_canary_requests = 0


def enter(t: Tick, index: int) -> None:
    """Decide on a step: its weight is wanted from now, its dwell waits for `confirm`."""
    status = t.status
    # Re-entered before its weight showed (the steps changed): the history entry to come
    # still goes from what the router last applied.
    before = status.applying.from_ if status.applying is not None else t.label()
    status.step_index = index
    status.applying = Applying(since=t.now, from_=before)
    status.step_started_at = None
    status.step_ends_at = None
    status.step_approved = False
    _new_interval(status, t.now)
    if status.phase != "Paused":
        status.phase = "Progressing"


def _applied(t: Tick) -> bool:
    """Whether the router verified the weight the status wants now."""
    reading = t.observations.router_weight
    return reading is not None and reading.realises(weight.desired(t.spec, t.status))


def confirm(t: Tick) -> None:
    """The dwell starts once the router shows the entered step's weight (read back).

    So a kill between the status write and the route write, however long the operator stays
    down, neither shortens nor skips the step: its dwell, its history entry and its event all
    begin at the first tick that sees the weight applied.
    """
    status, applying = t.status, t.status.applying
    if applying is None or not _applied(t):
        return
    last = status.step_index == len(t.spec.steps) - 1
    if last and status.phase == "Paused":
        return  # Succeeded waits for the resume: a paused rollout does not finish
    status.applying = None
    status.step_started_at = t.now
    # A `skip` while the weight was applying already ended the dwell.
    status.step_ends_at = status.step_ends_at if status.step_approved else ends_at(t)
    _new_interval(status, t.now)
    if status.phase == "Paused":
        status.paused_at = t.now  # the dwell starts counting when resumed
    if last:
        status.phase = "Succeeded"
        status.succeeded_at = t.now
        status.step_ends_at = None
        conditions.set_condition(
            status, PROGRESSING, False, "Succeeded", "all traffic on v2", t.now
        )
    message = f"step {status.step_index + 1}: {t.step.weight}% to v2"
    t.record(applying.from_, "Succeeded" if last else "StepStarted", message)


def _holding(t: Tick) -> tuple[str, str] | None:
    """Why the current step may not end yet, or None."""
    status, analysis = t.status, t.status.analysis
    if status.applying is not None or not _applied(t):
        # Also after a restart: the route is made to match the status before a step ends.
        wanted, reading = weight.desired(t.spec, status), t.observations.router_weight
        seen = "unknown" if reading is None else f"{reading.shown}%"
        return "ApplyingWeight", f"waiting for the router to show {wanted}% to v2 (shows {seen})"
    if t.step.manual and not status.step_approved:
        return "WaitingForApproval", f"annotate {REQUEST_ANNOTATION}=promote to go on"
    left = remaining(status, t.now)
    if left:
        ends = f"{status.step_ends_at:%Y-%m-%dT%H:%M:%SZ}" if status.step_ends_at else "?"
        return "Dwelling", f"at {t.step.weight}% until {ends}"
    if analysis.metrics_unavailable_since is not None:
        return "MetricsUnavailable", f"no metrics: {analysis.metrics_unavailable_reason}"
    needed = t.spec.analysis.min_requests if t.spec.analysis else 0
    if analysis.step_canary_requests < needed:
        return "WaitingForData", f"{analysis.step_canary_requests}/{needed} v2 requests this step"
    return suspicion.holding(t)


def _gates_open(t: Tick, index: int) -> bool:
    """Start the step's gate Jobs; True once all succeeded. A failed gate rolls back."""
    waiting = False
    for gate_index, gate in enumerate(t.spec.steps[index].gates):
        job = t.observations.gate(index, gate_index)
        if job is None:
            t.actions.append(RunGateJob(index, gate_index, t.status.attempt, gate.job))
        if job is None or job.result == "Running":
            waiting = True
        elif job.result == "Failed":
            phases.roll_back(t, "GateFailed", f"gate {gate_index} of step {index + 1} failed")
            return False
    return not waiting


def advance(t: Tick, ready: bool) -> None:
    """Start the first step, or end the current one, when nothing holds it."""
    started = t.status.phase == "Progressing"
    target = t.status.step_index + 1 if started else 0
    hold = _holding(t) if started else None
    if hold is None and not ready:
        hold = "WaitingForReady", "v2 is not Ready"
    if hold is None and not _gates_open(t, target):
        hold = "WaitingForGates", f"gate Jobs of step {target + 1}"
    if hold is None:
        enter(t, target)
        hold = _holding(t) if t.status.phase == "Progressing" else None
    if hold is not None and t.active:
        before = conditions.get_condition(t.status, PROGRESSING)
        if hold[0] == suspicion.SUSPECTED and (before is None or before.reason != hold[0]):
            t.emit(*hold, "Warning")  # once per hold: an SRE may want to look before the verdict
            t.notify(suspicion.SUSPECTED, *hold)
        conditions.set_condition(t.status, PROGRESSING, True, *hold, t.now)
