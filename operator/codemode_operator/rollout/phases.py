"""Transitions that start or end a rollout."""

from . import conditions, verdict
from .conditions import PROGRESSING, ROLLED_BACK
from .spec import Analysis, RolloutSpec
from .status import Phase, RolloutStatus
from .tick import Tick


def _test_settings(spec: RolloutSpec) -> tuple[float, float]:
    analysis = spec.analysis or Analysis()
    return analysis.alpha, analysis.tolerance


def start(t: Tick, reason: str, message: str) -> None:
    """A new rollout (first sight, retry, new v2 revision): step 0, weight 0, fresh analysis."""
    before = t.label()
    old = t.status
    canary = t.observations.canary
    t.status = RolloutStatus(
        phase="Pending",
        attempt=old.attempt + 1,
        step_count=len(t.spec.steps),
        canary_weight=old.canary_weight,
        canary_revision=canary.revision if canary else None,
        analysis=verdict.new_record(*_test_settings(t.spec)),
        conditions=old.conditions,
        history=old.history,
        last_request=old.last_request,
        observed_generation=old.observed_generation,
    )
    conditions.set_condition(t.status, ROLLED_BACK, False, reason, message, t.now)
    conditions.set_condition(t.status, PROGRESSING, True, reason, message, t.now)
    t.record(before, reason, message)


def end(t: Tick, phase: Phase, reason: str, message: str) -> None:
    """RolledBack or Aborted: all traffic to v1 (weight 0 is written first), v2 left in place."""
    before = t.label()
    t.status.phase = phase
    t.status.paused_at = None
    t.status.readiness_wait_since = None
    conditions.set_condition(t.status, PROGRESSING, False, reason, message, t.now)
    conditions.set_condition(t.status, ROLLED_BACK, True, reason, message, t.now)
    t.record(before, reason, message, "Warning")


def roll_back(t: Tick, reason: str, message: str) -> None:
    end(t, "RolledBack", reason, message)
