"""When a check is due, and turning its counts into the running tests and a verdict."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from codemode_operator.apis import conditions
from codemode_operator.apis.conditions import ANALYSIS_PASSING
from codemode_operator.apis.duration import format_duration
from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import (
    STEPPING_PHASES,
    ConditionStatus,
    Counts,
    LatencyAnalysis,
    MetricAnalysis,
    RolloutStatus,
    Verdict,
)

from . import latency, phases, verdict
from .observations import MetricsFailure, MetricsSample
from .tick import Tick

# The AnalysisPassing condition's status for each verdict.
PASSING: dict[Verdict, ConditionStatus] = {
    "Pass": "True",
    "Fail": "False",
    "Inconclusive": "Unknown",
}


@dataclass(frozen=True)
class Window:
    """The counts to fetch: increases over [start, end). With `baseline_start`, also v1's
    latency histogram over [baseline_start, start), from which a step's edges are chosen."""

    start: datetime
    end: datetime
    baseline_start: datetime | None = None


def metrics_window(spec: RolloutSpec, status: RolloutStatus, now: datetime) -> Window | None:
    """For the handlers: the window to query this tick, or None when no check is due."""
    start = status.analysis.window_start
    if spec.analysis is None or status.phase not in STEPPING_PHASES or start is None:
        return None
    if now - start < spec.analysis.interval:
        return None
    wanted = spec.analysis.latency
    if wanted and latency.needs_baseline(status.analysis.latency, wanted, status.step_index):
        return Window(start, now, start - wanted.baseline)
    return Window(start, now)


def check(t: Tick) -> None:
    sample = t.observations.metrics
    if metrics_window(t.spec, t.status, t.now) is None or sample is None:
        return
    if isinstance(sample, MetricsFailure):
        _unavailable(t, sample.reason)
    elif sample.start == t.status.analysis.window_start and sample.end > sample.start:
        _consume(t, sample)


def _restart_reason(null_ratio: float, tolerance: float, resumes: bool) -> str | None:
    if null_ratio != 1 + tolerance:
        return f"tolerance is now {tolerance}"
    return None if resumes else "the test's prior changed (operator upgrade)"


def _consume(t: Tick, sample: MetricsSample) -> None:
    spec, record = t.spec.analysis, t.status.analysis
    assert spec is not None  # a sample is only asked for when analysis is configured
    restart = _restart_reason(record.null_ratio, spec.tolerance, verdict.resumes(record))
    if restart is not None:
        # Sums against another θ0 or prior mean nothing now: restart the tests (and say so).
        t.emit("AnalysisRestarted", restart)
        record = t.status.analysis = phases.new_analysis(t.spec).model_copy(
            update={"window_start": record.window_start, "step_canary_requests": 0}
        )
    elif spec.latency is None:
        record.latency = None
    elif (why := latency.restart_reason(record.latency, spec.latency)) is not None:
        # The error tests go on; only the latency test starts again (and spends a fresh alpha).
        if record.latency is not None:
            t.emit("AnalysisRestarted", why)
        record.latency = latency.start(spec.latency, spec.alpha)
    if record.metrics_unavailable_since is not None:
        # The first window after an outage spans the gap, and a restarted Prometheus may not
        # have scraped yet or lost the samples at its start (then the counts come from an
        # extrapolating increase()). Drop it and start a clean interval now, rather than
        # judge v2 on an artefact.
        t.emit("MetricsRecovered", "Prometheus answers again; the window across the gap is dropped")
        record.window_start = sample.end
        record.metrics_unavailable_since = None
        record.metrics_unavailable_reason = None
        return
    canary, stable = sample.canary, sample.stable
    tests = {
        "errors": (verdict.ERRORS, canary.errors, stable.errors),
        "infra_errors": (verdict.INFRA_ERRORS, canary.infra_errors, stable.infra_errors),
    }
    alpha = verdict.error_alpha(spec.alpha, spec.latency is not None)
    updated: dict[str, Any] = {
        name: verdict.update(
            getattr(record, name),
            test,
            canary=(canary.requests, canary_errors),
            stable=(stable.requests, stable_errors),
            null_ratio=record.null_ratio,
            alpha=alpha,
        )
        for name, (test, canary_errors, stable_errors) in tests.items()
    }
    if spec.latency is not None and record.latency is not None:
        canary_latency, stable_latency = sample.canary_latency, sample.stable_latency
        if canary_latency is not None and stable_latency is not None:
            updated["latency"] = latency.update(
                record.latency,
                spec.latency,
                canary_latency,
                stable_latency,
                t.status.step_index,
                spec.alpha,
                sample.stable_baseline,
            )
    canary_total = record.canary_total + canary
    cap = spec.max_canary_infra_errors
    cap_exceeded = cap is not None and canary_total.infra_errors > cap
    step_requests = record.step_canary_requests + canary.requests
    latency_test = updated.get("latency", record.latency)
    tested = [updated["errors"], updated["infra_errors"]]
    outcome = verdict.overall(
        *tested,
        *([latency_test] if latency_test is not None else []),
        cap_exceeded=cap_exceeded,
        enough_data=step_requests >= spec.min_requests,
    )
    message = _message(
        updated["errors"], updated["infra_errors"], latency_test, canary_total, cap_exceeded
    )
    t.status.analysis = record.model_copy(
        update={
            **updated,
            "window_start": sample.end,
            "last_check_at": t.now,
            "canary": canary,
            "stable": stable,
            "canary_total": canary_total,
            "stable_total": record.stable_total + stable,
            "step_canary_requests": step_requests,
            "verdict": outcome,
            "message": message,
            "metrics_unavailable_since": None,
            "metrics_unavailable_reason": None,
        }
    )
    passing = PASSING[outcome]
    conditions.set_condition(t.status, ANALYSIS_PASSING, passing, outcome, message, t.now)
    if outcome == "Fail":
        phases.roll_back(t, "AnalysisFailed", message)


def _message(
    errors: MetricAnalysis,
    infra: MetricAnalysis,
    latency_test: LatencyAnalysis | None,
    canary_total: Counts,
    cap_exceeded: bool,
) -> str:
    """Every test's figures, those that fail first (an Event's message may be cut short)."""
    parts = [
        (
            m.verdict,
            f"{name}: v2 {m.canary_rate:.3%} vs v1 {m.stable_rate:.3%}, "
            f"e={m.e_value:.3g} (fail at {m.threshold:.3g}), p={m.p_value:.3g}",
        )
        for name, m in (("errors", errors), ("infra errors", infra))
    ]
    if latency_test is not None:
        parts.append((latency_test.verdict, latency.summary(latency_test)))
    if cap_exceeded:
        parts.insert(0, ("Fail", f"v2 infra errors {canary_total.infra_errors} over the cap"))
    return "; ".join(text for _, text in sorted(parts, key=lambda part: part[0] != "Fail"))


def _unavailable(t: Tick, reason: str) -> None:
    """Hold (never promote) while Prometheus fails; after `after`, hold or roll back."""
    assert t.spec.analysis is not None
    record, policy = t.status.analysis, t.spec.analysis.on_metrics_unavailable
    if record.metrics_unavailable_since is None:
        record.metrics_unavailable_since = t.now
        t.emit("MetricsUnavailable", reason, "Warning")
        t.notify("MetricsUnavailable", "MetricsUnavailable", reason)
    record.metrics_unavailable_reason = reason
    since = record.metrics_unavailable_since
    message = f"metrics unavailable since {since.isoformat()}: {reason}"
    conditions.set_condition(
        t.status, ANALYSIS_PASSING, "Unknown", "MetricsUnavailable", message, t.now
    )
    if policy.action == "Rollback" and t.now - since >= policy.after:
        phases.roll_back(
            t, "MetricsUnavailable", f"no metrics for {format_duration(t.now - since)}: {reason}"
        )
