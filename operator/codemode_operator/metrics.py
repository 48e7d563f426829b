"""The operator's own /metrics: where each rollout is, what it decided, and how reconciling goes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from codemode_operator.apis.status import PHASES, VERDICTS
from codemode_operator.rollout import RolloutStatus

PHASE = Gauge(
    "codemode_rollout_phase", "1 for the rollout's current phase.", ["namespace", "name", "phase"]
)
WEIGHT = Gauge("codemode_rollout_canary_weight", "% of traffic sent to v2.", ["namespace", "name"])
STEP = Gauge("codemode_rollout_step", "1-based index of the current step.", ["namespace", "name"])
TRANSITIONS = Counter(
    "codemode_rollout_transitions_total",
    "Phase or step transitions.",
    ["namespace", "name", "reason"],
)
ROLLBACKS = Counter(
    "codemode_rollout_rollbacks_total", "Rollbacks to 100% v1.", ["namespace", "name", "reason"]
)
VERDICT = Gauge(
    "codemode_rollout_analysis_verdict",
    "1 for the last analysis verdict.",
    ["namespace", "name", "verdict"],
)
E_VALUE = Gauge(
    "codemode_rollout_analysis_e_value",
    "Evidence that v2 is worse (reject at 1/alpha), per metric.",
    ["namespace", "name", "metric"],
)
ERROR_RATE = Gauge(
    "codemode_rollout_analysis_error_rate",
    "Error rate since the rollout started, per version and metric.",
    ["namespace", "name", "version", "metric"],
)
SLOW_RATE = Gauge(
    "codemode_rollout_analysis_slow_rate",
    "Share of requests slower than a latency threshold since the rollout started.",
    ["namespace", "name", "version", "le"],
)
NOTIFICATIONS = Counter(
    "codemode_rollout_notifications_total",
    "Notification attempts (apprise), by outcome: sent or failed (retried later).",
    ["namespace", "name", "outcome"],
)
RECONCILE_ERRORS = Counter(
    "codemode_rollout_reconcile_errors_total",
    "Reconciles that raised; kopf retries them.",
    ["namespace", "name"],
)
LEADER = Gauge(
    "codemode_operator_leader",
    "1 while this replica holds the lease and reconciles; 0 while it stands by.",
)
RECONCILE_SECONDS = Histogram(
    "codemode_rollout_reconcile_seconds", "Time of one observe-decide-act tick."
)
TICK_WAIT_SECONDS = Histogram(
    "codemode_rollout_tick_wait_seconds",
    "Time a tick waited for a worker slot before it ran, by tick: dwell_end, then read_back (a"
    " weight to read back) go first, before routine.",
    ["tick"],
)


def record(namespace: str, name: str, status: RolloutStatus, reasons: list[str]) -> None:
    for phase in PHASES:
        PHASE.labels(namespace, name, phase).set(1 if status.phase == phase else 0)
    WEIGHT.labels(namespace, name).set(status.canary_weight)
    STEP.labels(namespace, name).set(status.step_index + 1)
    for reason in reasons:
        TRANSITIONS.labels(namespace, name, reason).inc()
    analysis = status.analysis
    for verdict in VERDICTS:
        VERDICT.labels(namespace, name, verdict).set(1 if analysis.verdict == verdict else 0)
    for metric, figures in (("errors", analysis.errors), ("infra_errors", analysis.infra_errors)):
        E_VALUE.labels(namespace, name, metric).set(figures.e_value)
        ERROR_RATE.labels(namespace, name, "v1", metric).set(figures.stable_rate)
        ERROR_RATE.labels(namespace, name, "v2", metric).set(figures.canary_rate)
    if analysis.latency is not None:
        E_VALUE.labels(namespace, name, "latency").set(analysis.latency.e_value)
        for threshold in analysis.latency.thresholds:
            if threshold.le is not None:
                le = f"{threshold.le:g}"
                SLOW_RATE.labels(namespace, name, "v1", le).set(threshold.stable_rate)
                SLOW_RATE.labels(namespace, name, "v2", le).set(threshold.canary_rate)


def forget(namespace: str, name: str) -> None:
    """Drop a deleted rollout's series so dashboards do not show ghosts."""
    for gauge in (PHASE, WEIGHT, STEP, VERDICT, E_VALUE, ERROR_RATE, SLOW_RATE):
        for labels in list(gauge._metrics):  # prometheus_client keeps no public label listing
            if labels[:2] == (namespace, name):
                gauge.remove(*labels)
