"""`status` of a CodeModeRollout: all progress lives here, so a restarted operator resumes."""

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import ConfigDict, Field, model_validator

from .model import CrdModel

Phase = Literal["Pending", "Progressing", "Paused", "Succeeded", "RolledBack", "Aborted"]
PHASES: tuple[Phase, ...] = get_args(Phase)
ACTIVE_PHASES: tuple[Phase, ...] = ("Pending", "Progressing", "Paused")
STEPPING_PHASES: tuple[Phase, ...] = ("Progressing", "Paused")  # a step is under way
ROLLED_BACK_PHASES: tuple[Phase, ...] = ("RolledBack", "Aborted")  # all traffic back on v1
DONE_PHASES: tuple[Phase, ...] = ("Succeeded", *ROLLED_BACK_PHASES)
Verdict = Literal["Pass", "Fail", "Inconclusive"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(CrdModel):
    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    last_transition_time: datetime


class Counts(CrdModel):
    """One version's requests, errors and infra errors: the increases Prometheus saw over one
    analysis window (an observation; its extrapolated floats are rounded) and their sums kept in
    the status."""

    model_config = ConfigDict(frozen=True)

    requests: int = Field(default=0, ge=0)
    errors: int = Field(default=0, ge=0)
    infra_errors: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _round(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        return {k: round(max(0.0, v)) if isinstance(v, float) else v for k, v in data.items()}

    @model_validator(mode="after")
    def _consistent(self) -> "Counts":
        if self.errors > self.requests or self.infra_errors > self.errors:
            raise ValueError("need infraErrors <= errors <= requests")
        return self

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            infra_errors=self.infra_errors + other.infra_errors,
        )


class Evidence(CrdModel):
    """A test's evidence that v2 is worse: its e-value, p-value and verdict."""

    log_e_value: float = 0.0
    max_log_e_value: float = 0.0
    e_value: float = 1.0
    p_value: float = 1.0
    threshold: float = 0.0  # the e-value that fails
    verdict: Verdict = "Inconclusive"


class MetricAnalysis(Evidence):
    """One metric's test since the rollout started; `logLikelihoodRatios` is its running state."""

    prior_ratios: list[float] = []  # θ/θ0 of the prior the sums belong to
    log_likelihood_ratios: list[float] = []
    canary_requests: int = 0
    stable_requests: int = 0
    canary_errors: int = 0
    stable_errors: int = 0
    canary_rate: float = 0.0
    stable_rate: float = 0.0


class LatencyThreshold(MetricAnalysis):
    """One latency threshold's test: the "errors" it counts are the requests slower than `le`."""

    quantile: float | None = None  # the v1 quantile `le` was chosen near; None: configured
    le: float | None = None  # seconds, a bucket edge; None until chosen (v1 has no data yet)
    canary_errors: int = Field(default=0, alias="canarySlow")
    stable_errors: int = Field(default=0, alias="stableSlow")
    canary_rate: float = Field(default=0.0, alias="canarySlowRate")
    stable_rate: float = Field(default=0.0, alias="stableSlowRate")


class LatencyAnalysis(Evidence):
    """The latency test: one e-process per threshold, their average is its e-value."""

    null_ratio: float = 1.0  # 1 + latency tolerance
    thresholds: list[LatencyThreshold] = []
    thresholds_step: int | None = None  # the step whose start the edges were chosen at


class AnalysisRecord(CrdModel):
    window_start: datetime | None = None
    last_check_at: datetime | None = None
    null_ratio: float = 1.0
    canary: Counts = Counts()
    stable: Counts = Counts()
    canary_total: Counts = Counts()
    stable_total: Counts = Counts()
    step_canary_requests: int = 0
    errors: MetricAnalysis = MetricAnalysis()
    infra_errors: MetricAnalysis = MetricAnalysis()
    latency: LatencyAnalysis | None = None  # only with `analysis.latency`
    verdict: Verdict = "Inconclusive"
    message: str = ""
    metrics_unavailable_since: datetime | None = None
    metrics_unavailable_reason: str | None = None


class HistoryEntry(CrdModel):
    time: datetime
    from_: str = Field(alias="from")
    to: str
    reason: str


NotificationSeverity = Literal["info", "success", "warning", "failure"]  # apprise's types


class Notification(CrdModel):
    """One transition to tell people of, rendered when it happened (with its figures)."""

    seq: int  # 1, 2, ... over the rollout's life: the outbox's order and a receiver's dedupe key
    time: datetime
    transition: str
    severity: NotificationSeverity
    title: str
    body: str


class NotificationsStatus(CrdModel):
    """The outbox: transitions are queued in the same status write that records them, and
    `delivered` moves on only once a receiver took one, so a restart loses none."""

    queued: int = 0  # the last seq queued
    delivered: int = 0  # the last seq delivered
    outbox: list[Notification] = []  # queued and not yet delivered, oldest first
    attempts: int = 0  # failed attempts at the oldest one
    next_attempt_at: datetime | None = None
    last_error: str | None = None


class EventRecord(CrdModel):
    """A Kubernetes Event queued by a tick, posted (as `<rollout>.<uid>.<seq>`) after its commit."""

    seq: int
    time: datetime
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


class EventsStatus(CrdModel):
    """The Events outbox (rollout/events.py): queued with the transition, removed once posted."""

    queued: int = 0  # the last seq queued: Events are numbered over the rollout's life
    outbox: list[EventRecord] = []


class LastRequest(CrdModel):
    name: str
    at: datetime
    outcome: Literal["Applied", "Refused"]
    message: str = ""
    cleared: bool = False


class Applying(CrdModel):
    """A step decided on whose weight the router does not show yet: its dwell and its history
    entry wait for the read-back, so a kill before the route write skips no exposure."""

    since: datetime
    from_: str = Field(alias="from")  # the history entry's `from` once the weight is shown


class RolloutStatus(CrdModel):
    phase: Phase | None = None
    attempt: int = 0
    step_index: int = 0
    step_count: int | None = None
    step: str | None = None
    canary_weight: int = 0
    canary_revision: str | None = None
    applying: Applying | None = None
    step_started_at: datetime | None = None  # when the router showed the step's weight
    step_ends_at: datetime | None = None
    step_remaining: str | None = None
    step_approved: bool = False
    paused_at: datetime | None = None
    readiness_wait_since: datetime | None = None
    succeeded_at: datetime | None = None
    stable_scaled_down_at: datetime | None = None
    stable_replicas: int | None = None
    analysis: AnalysisRecord = AnalysisRecord()
    conditions: list[Condition] = []
    history: list[HistoryEntry] = []
    last_request: LastRequest | None = None
    notifications: NotificationsStatus | None = None  # only with `spec.notifications`
    events: EventsStatus = EventsStatus()
    observed_generation: int | None = None
    verdict: str | None = None  # the Verdict printer column: the analysis' verdict, "-" without

    def to_crd(self, analysed: bool) -> dict[str, Any]:
        """The stored status; without `spec.analysis` no analysis block (a test never run)."""
        data = self.to_dict()
        if not analysed:
            data.pop("analysis", None)
        return data

    @property
    def step_entered(self) -> bool:
        """A step was decided on (its weight is wanted), confirmed on the router or not."""
        return self.step_started_at is not None or self.applying is not None
