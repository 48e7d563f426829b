"""Spec and v2 changes mid-rollout (see docs/resource.md, "Changing the spec mid-rollout")."""

from . import phases, step
from .tick import Tick


def apply(t: Tick) -> None:
    _canary_revision(t)
    if t.status.observed_generation != t.observations.generation:
        _steps(t)


def _canary_revision(t: Tick) -> None:
    canary, status = t.observations.canary, t.status
    revision = canary.revision if canary else None
    if revision is None or revision == status.canary_revision:
        return
    if status.canary_revision is None:
        status.canary_revision = revision  # first sight of v2's revision
    elif status.phase == "Succeeded":
        # v2 already serves everything; rolling "back" to v1 now could be an outage.
        status.canary_revision = revision
        t.emit("CanaryChangedAfterSuccess", f"v2 is now revision {revision}; traffic unchanged")
    else:
        phases.start(t, "CanaryRevisionChanged", f"v2 revision {revision}: starting over")


def _steps(t: Tick) -> None:
    """New steps apply from the current index: never skipped, never restarted from step 1."""
    status, steps = t.status, t.spec.steps
    status.step_count = len(steps)
    if not t.active or not status.step_entered:
        return
    last = len(steps) - 1
    # Only a passed step leads to the last one, so a shorter list resumes before it.
    index = min(status.step_index, max(last - 1, 0))
    moved = index != status.step_index or steps[index].weight != status.canary_weight
    status.step_index = index
    if moved or index == last:
        step.enter(t, index)  # a new weight: its dwell and analysis interval start now
    elif not status.step_approved:
        status.step_ends_at = step.ends_at(t)
