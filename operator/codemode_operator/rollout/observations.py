"""What the handlers gather for one tick; the core never fetches anything itself."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

REQUEST_ANNOTATION = "codemode.io/request"


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


class Counts(_Observed):
    """Increases over the sample's window; Prometheus' extrapolated floats are rounded."""

    requests: int = Field(ge=0)
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


class MetricsSample(_Observed):
    """Counts over [start, end), the window `analysis.metrics_window` asked for."""

    start: datetime
    end: datetime
    canary: Counts
    stable: Counts


class MetricsFailure(_Observed):
    reason: str


class GateJob(_Observed):
    step: int
    index: int
    result: Literal["Running", "Succeeded", "Failed"]


class Observations(_Observed):
    generation: int
    canary: DeploymentState | None = None  # None: the Deployment is missing
    stable: DeploymentState | None = None
    router_weight: int | None = None  # None: not known, so a weight is always written
    router_pins: tuple[str, ...] | None = None  # pinned versions the router shows (None: unknown)
    metrics: MetricsSample | MetricsFailure | None = None  # None: no check was due
    request: str | None = None  # the `codemode.io/request` annotation
    gates: tuple[GateJob, ...] = ()  # gate Jobs of the current attempt

    def gate(self, step: int, index: int) -> GateJob | None:
        return next((g for g in self.gates if (g.step, g.index) == (step, index)), None)
