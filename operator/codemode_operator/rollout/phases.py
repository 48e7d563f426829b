"""Transitions that start or end a rollout."""

from codemode_operator.apis import conditions
from codemode_operator.apis.conditions import PROGRESSING, ROLLED_BACK
from codemode_operator.apis.spec import Analysis, Prometheus, RolloutSpec
from codemode_operator.apis.status import AnalysisRecord, Phase, RolloutStatus

from . import latency, verdict
from .tick import Tick


def new_analysis(spec: RolloutSpec) -> AnalysisRecord:
    """Nothing seen yet: every test at e = 1, each with its share of alpha."""
    # Without analysis the record is not shown (to_crd) and no test runs: the defaults' shape
    # (no Prometheus is ever asked).
    analysis = spec.analysis or Analysis(prometheus=Prometheus(address=""))
    record = verdict.new_record(
        verdict.error_alpha(analysis.alpha, analysis.latency is not None), analysis.tolerance
    )
    if analysis.latency is not None:
        record.latency = latency.start(analysis.latency, analysis.alpha)
    return record


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
        analysis=new_analysis(t.spec),
        conditions=old.conditions,
        history=old.history,
        last_request=old.last_request,
        notifications=old.notifications,  # the outboxes outlive an attempt
        events=old.events,
        observed_generation=old.observed_generation,
    )
    conditions.set_condition(t.status, ROLLED_BACK, False, reason, message, t.now)
    conditions.set_condition(t.status, PROGRESSING, True, reason, message, t.now)
    t.record(before, reason, message)


def end(t: Tick, phase: Phase, reason: str, message: str) -> None:
    """RolledBack or Aborted: all traffic to v1 (weight 0 is written first), v2 left in place."""
    before = t.label()
    t.status.phase = phase
    t.status.applying = None  # a step whose weight never showed has no history entry
    t.status.paused_at = None
    t.status.readiness_wait_since = None
    conditions.set_condition(t.status, PROGRESSING, False, reason, message, t.now)
    conditions.set_condition(t.status, ROLLED_BACK, True, reason, message, t.now)
    t.record(before, reason, message, "Warning")


def roll_back(t: Tick, reason: str, message: str) -> None:
    end(t, "RolledBack", reason, message)
