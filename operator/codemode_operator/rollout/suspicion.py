"""Holding a step whose dwell is over while v2 looks worse, before the test is sure.

The tests are anytime-valid: looking longer does not raise the false-rollback rate, so a step
can wait for a verdict instead of widening the exposure of a v2 that leans toward a regression.
"""

import math
from typing import Final

from codemode_operator.apis.status import Evidence, LatencyAnalysis, MetricAnalysis

from .tick import Tick

SUSPECTED: Final = "SuspectedRegression"


def suspect(
    errors: MetricAnalysis,
    infra_errors: MetricAnalysis,
    e_value: float,
    latency: LatencyAnalysis | None = None,
) -> tuple[str, Evidence] | None:
    """The first test whose evidence of a regression is at least `e_value`, with its name."""
    level = math.log(e_value)
    named: list[tuple[str, Evidence]] = [
        ("errors", errors),
        ("infra errors", infra_errors),
    ]
    if latency is not None:
        named.append(("latency", latency))
    return next(((name, m) for name, m in named if m.log_e_value >= level), None)


def holding(t: Tick) -> tuple[str, str] | None:
    """Why the step, its dwell over, still waits on suspicion; None when it may advance.

    A human `skip` or `promote` overrides the hold, as it overrides the dwell."""
    status, analysis = t.status, t.spec.analysis
    if analysis is None or status.step_approved or status.step_ends_at is None:
        return None
    hold = analysis.hold_on_suspicion
    until = status.step_ends_at + hold.max_duration
    if status.step_index + 1 < hold.from_step or t.now >= until:
        return None
    record = status.analysis
    found = suspect(record.errors, record.infra_errors, hold.e_value, record.latency)
    if found is None:
        return None
    name, m = found
    return SUSPECTED, (
        f"{name}: e={m.e_value:.3g} ≥ {hold.e_value:g} (rollback at {m.threshold:.3g}); "
        f"holding {t.step.weight}% until {until:%Y-%m-%dT%H:%M:%SZ} unless the evidence fades"
    )
