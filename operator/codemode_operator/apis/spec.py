"""`spec` of a CodeModeRollout, as docs/resource.md writes it; defaults are the seed's plan.

The CRD (crds/) says the same: fields, required ones, defaults, enums and bounds are kept equal
by tests/unit/apis/test_spec_crd.py."""

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from .duration import Duration
from .model import CrdModel


class BackendRef(CrdModel):
    deployment: str
    service: str


class GatewayAPIRouter(CrdModel):
    http_route: str


class ReplicasRouter(CrdModel):
    total: int = Field(ge=1, le=1000)


class Router(CrdModel):
    type: Literal["gatewayAPI", "replicas"]
    gateway_api: GatewayAPIRouter | None = Field(default=None, alias="gatewayAPI")
    replicas: ReplicasRouter | None = None


class Pause(CrdModel):
    duration: Duration | None = None
    until_approved: bool = False


class Gate(CrdModel):
    name: str
    job: dict[str, Any]  # a batch/v1 JobSpec; its activeDeadlineSeconds bounds the wait


class Step(CrdModel):
    weight: int = Field(ge=1, le=100)
    pause: Pause | None = None
    gates: list[Gate] = Field(default=[], max_length=5)

    @property
    def manual(self) -> bool:
        return self.pause is not None and self.pause.until_approved

    @property
    def dwell(self) -> timedelta:
        return self.pause.duration if self.pause and self.pause.duration else timedelta(0)


def seed_steps() -> list[Step]:
    return [
        Step(weight=5, pause=Pause(duration=timedelta(minutes=30))),
        Step(weight=25, pause=Pause(duration=timedelta(hours=1))),
        Step(weight=50, pause=Pause(duration=timedelta(hours=2))),
        Step(weight=100),
    ]


class Prometheus(CrdModel):
    address: str
    timeout: Duration = timedelta(seconds=10)


class Queries(CrdModel):
    requests: str | None = None
    errors: str | None = None
    infra_errors: str | None = None


class OnMetricsUnavailable(CrdModel):
    after: Duration = timedelta(minutes=10)
    action: Literal["Hold", "Rollback"] = "Hold"


class HoldOnSuspicion(CrdModel):
    """A step whose dwell is over waits while v2 looks worse but not yet enough to roll back.

    The test is anytime-valid, so looking longer costs no false rollbacks: only time, and only
    for the rollouts whose evidence leans toward a regression (docs/analysis.md)."""

    e_value: float = Field(default=2.0, ge=1)
    max_duration: Duration = timedelta(hours=1)  # per step, after its dwell; then it advances
    # The first step's few errors push e past 2 on noise alone: holding there delays good
    # rollouts without catching more regressions.
    from_step: int = Field(default=2, ge=1)


class Latency(CrdModel):
    """The latency test: for each threshold, is v2's share of the requests slower than it
    larger than its share of the traffic (docs/analysis.md)?

    Thresholds are bucket edges of `mcp_tool_call_duration_seconds`: the edges nearest v1's
    `quantiles` in v1's own histogram over the `baseline` before each step's start, or the
    smallest edges at or above the configured `thresholds`."""

    quantiles: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.5, 0.95, 0.99], max_length=5
    )
    thresholds: list[Duration] = Field(default=[], max_length=5)  # set: used instead
    # Relative, as the errors' tolerance: 0.1 lets v2 have 10% more slow requests than v1.
    tolerance: float = Field(default=0.0, ge=0, le=10)
    # PromQL regexes on the `tool` label ("": every tool). v1 has one tool per operation and
    # v2 has search/execute/pollJob and natives, whose latencies differ by orders of magnitude.
    tools: str = ""
    stable_tools: str | None = None  # v1's tools when they differ from `tools`
    # v1's histogram over this long before a step's start chooses that step's edges.
    baseline: Duration = timedelta(hours=1)

    @field_validator("tools", "stable_tools")
    @classmethod
    def _promql_regex(cls, tools: str | None) -> str | None:
        if tools is not None and ('"' in tools or "\\" in tools):
            raise ValueError("must be a PromQL regex without double quotes or backslashes")
        return tools


class Analysis(CrdModel):
    interval: Duration = Field(default=timedelta(minutes=1), ge=timedelta(seconds=1))
    prometheus: Prometheus
    alpha: float = Field(default=0.01, gt=0, le=0.5)
    tolerance: float = Field(default=0.0, ge=0, le=10)
    min_requests: int = Field(default=200, ge=1)
    max_canary_infra_errors: int | None = Field(default=None, ge=0)
    selector: str = ""
    queries: Queries = Queries()
    on_metrics_unavailable: OnMetricsUnavailable = OnMetricsUnavailable()
    hold_on_suspicion: HoldOnSuspicion = HoldOnSuspicion()
    latency: Latency | None = None  # None: errors only (the latency test is opt-in)


class ScaleDownStable(CrdModel):
    enabled: bool = True
    after: Duration = timedelta(hours=168)  # the seed: decommission v1 after a quiet week


Transition = Literal[
    "StepStarted", "SuspectedRegression", "RolledBack", "Aborted", "Succeeded", "MetricsUnavailable"
]
TRANSITIONS: tuple[Transition, ...] = (
    "StepStarted",
    "SuspectedRegression",
    "RolledBack",
    "Aborted",
    "Succeeded",
    "MetricsUnavailable",
)


class SecretKeyRef(CrdModel):
    name: str
    key: str = "urls"


class Notifications(CrdModel):
    """Tell people of transitions through apprise (Slack, Teams, PagerDuty, webhooks, ...).

    The Secret's key holds apprise URLs (whitespace or comma separated): URLs carry tokens."""

    secret_ref: SecretKeyRef
    transitions: list[Transition] = Field(
        default_factory=lambda: list(TRANSITIONS), max_length=len(TRANSITIONS)
    )


class RolloutSpec(CrdModel):
    stable: BackendRef
    canary: BackendRef
    router: Router
    steps: list[Step] = Field(default_factory=seed_steps, min_length=1, max_length=20)
    paused: bool = False
    progress_deadline: Duration = timedelta(minutes=10)
    # None: steps advance on time, readiness and gates only (no metric gating), as in Argo.
    analysis: Analysis | None = None
    scale_down_stable: ScaleDownStable = ScaleDownStable()
    notifications: Notifications | None = None

    @field_validator("steps")
    @classmethod
    def _ends_at_full_weight(cls, steps: list[Step]) -> list[Step]:
        # Succeeded means all traffic on v2, so the plan must end there.
        if steps[-1].weight != 100:
            raise ValueError("the last step must have weight 100")
        return steps
