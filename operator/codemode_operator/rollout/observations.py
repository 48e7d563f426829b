"""What the handlers gather for one tick; the core never fetches anything itself."""

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from codemode_operator.apis.status import Counts


class _Observed(BaseModel):
    model_config = ConfigDict(frozen=True)


class DeploymentState(_Observed):
    desired_replicas: int = Field(ge=0)
    updated_replicas: int = Field(default=0, ge=0)
    available_replicas: int = Field(default=0, ge=0)
    generation: int = 0
    observed_generation: int = 0
    revision: str | None = None  # pod-template revision, e.g. the pod-template-hash
    tool_surface: str | None = None  # the pod template's codemode.io/tool-surface annotation

    @property
    def ready(self) -> bool:
        return (
            self.desired_replicas > 0
            and self.observed_generation >= self.generation
            and self.updated_replicas >= self.desired_replicas
            and self.available_replicas >= self.desired_replicas
        )


class Histogram(_Observed):
    """Requests of one version over the window by duration: `counts[i]` took at most `le[i]`
    seconds (cumulative, as Prometheus' `_bucket{le}`); the last edge is +Inf (all requests).

    Exact counter differences are whole numbers, but a series that reset in the window falls
    back to an extrapolating increase(): counts are rounded and made cumulative again here, so
    no edge ever has a negative number of requests above it."""

    le: tuple[float, ...]
    counts: tuple[int, ...]

    @model_validator(mode="before")
    @classmethod
    def _cumulative(cls, data: object) -> object:
        if not isinstance(data, dict) or "counts" not in data or "le" not in data:
            return data
        pairs = sorted(zip(data["le"], data["counts"], strict=True))
        counts, top = [], 0
        for _, value in pairs:
            top = max(top, round(max(0.0, float(value))))
            counts.append(top)
        return {"le": tuple(float(le) for le, _ in pairs), "counts": tuple(counts)}

    @model_validator(mode="after")
    def _ends_at_infinity(self) -> "Histogram":
        if not self.le or self.le[-1] != math.inf:
            raise ValueError("a histogram's last edge must be +Inf")
        return self

    @property
    def requests(self) -> int:
        return self.counts[-1]

    def slower_than(self, le: float) -> int | None:
        """Requests that took longer than the edge `le`; None when `le` is not an edge of a
        histogram with requests (0 would count them all as fast, and v2 as the slower)."""
        if le in self.le:
            return self.requests - self.counts[self.le.index(le)]
        return 0 if self.requests == 0 else None


class MetricsSample(_Observed):
    """Counts over [start, end), the window `analysis.metrics_window` asked for; the
    latency histograms only when `analysis.latency` is set (None: not queried)."""

    start: datetime
    end: datetime
    canary: Counts
    stable: Counts
    canary_latency: Histogram | None = None
    stable_latency: Histogram | None = None
    # v1's histogram over the window's `baseline_start` to its start, when edges are chosen.
    stable_baseline: Histogram | None = None


class MetricsFailure(_Observed):
    reason: str


class GateJob(_Observed):
    step: int
    index: int
    result: Literal["Running", "Succeeded", "Failed"]


class WeightReading(_Observed):
    """The router's answer to `plan`'s weight: whether its state realises exactly that weight
    (`verified`), and the v2 weight it shows (people-facing: the replicas router's is the real
    ratio of its replicas, rounded, so never compared to decide anything on its own)."""

    desired: int  # the weight the router was asked to verify
    verified: bool
    shown: int

    def realises(self, weight: int) -> bool:
        """Whether the router applies `weight`: its own verification for the weight it was asked
        about. Another one was decided in this very tick (a step entered, a rollback): what the
        router shows stands in, for this tick's write alone, since the next tick's plan asks
        the router to verify it and no dwell starts before that."""
        return self.verified if weight == self.desired else self.shown == weight


class Observations(_Observed):
    generation: int
    canary: DeploymentState | None = None  # None: the Deployment is missing
    stable: DeploymentState | None = None
    router_weight: WeightReading | None = None  # None: not known, so a weight is always written
    router_pins: tuple[str, ...] | None = None  # pinned versions the router shows (None: unknown)
    metrics: MetricsSample | MetricsFailure | None = None  # None: no check was due
    request: str | None = None  # the `codemode.io/request` annotation
    gates: tuple[GateJob, ...] = ()  # gate Jobs of the current attempt

    def gate(self, step: int, index: int) -> GateJob | None:
        return next((g for g in self.gates if (g.step, g.index) == (step, index)), None)
