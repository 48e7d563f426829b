"""A fake cluster and clock around decide: actions are applied the way the handlers would."""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from codemode_operator.rollout import (
    Action,
    ClearRequest,
    Counts,
    DeploymentState,
    Emit,
    GateJob,
    Histogram,
    MetricsFailure,
    MetricsSample,
    Observations,
    RolloutSpec,
    RolloutStatus,
    ScaleStable,
    SetPins,
    SetWeight,
    WeightReading,
    decide,
    plan,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
EDGES = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 300, 600)  # the server's
Cdf = Callable[[float], float]  # P(duration <= seconds)


def lognormal(median: float, sigma: float = 0.6) -> Cdf:
    return lambda x: 0.5 * (1 + math.erf(math.log(x / median) / (sigma * math.sqrt(2))))


def histogram(requests: int, cdf: Cdf) -> Histogram:
    """Expected counts per edge, rounded: deterministic, as the error counts here are."""
    counts = [round(requests * cdf(le)) for le in EDGES]
    return Histogram(le=(*EDGES, math.inf), counts=(*counts, requests))


def ready(replicas: int = 2, revision: str = "r1") -> DeploymentState:
    return DeploymentState(
        desired_replicas=replicas,
        updated_replicas=replicas,
        available_replicas=replicas,
        revision=revision,
    )


PROMETHEUS = {"address": "http://prometheus:9090"}


def make_spec(**overrides: object) -> RolloutSpec:
    base = {
        "stable": {"deployment": "mcp-v1", "service": "mcp-v1"},
        "canary": {"deployment": "mcp-v2", "service": "mcp-v2"},
        "router": {"type": "gatewayAPI", "gatewayAPI": {"httpRoute": "mcp"}},
        "analysis": {"prometheus": PROMETHEUS},
    }
    return RolloutSpec.model_validate(base | overrides)


@dataclass
class World:
    spec: RolloutSpec = field(default_factory=make_spec)
    status: RolloutStatus = field(default_factory=RolloutStatus)
    now: datetime = T0
    generation: int = 1
    router_weight: int | None = 0
    router_pins: tuple[str, ...] | None = ()
    canary: DeploymentState | None = field(default_factory=ready)
    stable: DeploymentState | None = field(default_factory=ready)
    rate: int = 1000  # requests per minute, all versions
    canary_error_rate: float = 0.0
    stable_error_rate: float = 0.0
    canary_latency: Cdf | None = None  # None: no histograms in the samples
    stable_latency: Cdf | None = None
    metrics_down: str | None = None
    request: str | None = None
    gates: tuple[GateJob, ...] = ()
    log: list[Action] = field(default_factory=list)
    last_actions: tuple[Action, ...] = ()

    def sample(
        self, start: datetime, end: datetime, baseline_start: datetime | None = None
    ) -> MetricsSample:
        """Deterministic counts at the router's weight: expected values, rounded."""
        minutes = (end - start).total_seconds() / 60
        share = (self.router_weight or 0) / 100
        canary = round(self.rate * minutes * share)
        stable = round(self.rate * minutes) - canary
        return MetricsSample(
            start=start,
            end=end,
            canary=Counts(requests=canary, errors=round(canary * self.canary_error_rate)),
            stable=Counts(requests=stable, errors=round(stable * self.stable_error_rate)),
            canary_latency=histogram(canary, self.canary_latency) if self.canary_latency else None,
            stable_latency=histogram(stable, self.stable_latency) if self.stable_latency else None,
            stable_baseline=self.baseline(start, baseline_start),
        )

    def baseline(self, start: datetime, since: datetime | None) -> Histogram | None:
        """v1's histogram over [since, start), as if v1 had all the traffic then."""
        if since is None or self.stable_latency is None:
            return None
        requests = round(self.rate * (start - since).total_seconds() / 60)
        return histogram(requests, self.stable_latency)

    def observations(self) -> Observations:
        wanted = plan(self.spec, self.status, self.now)
        window = wanted.window
        metrics = None
        if window is not None:
            metrics = (
                MetricsFailure(reason=self.metrics_down)
                if self.metrics_down
                else self.sample(window.start, window.end, window.baseline_start)
            )
        return Observations(
            generation=self.generation,
            canary=self.canary,
            stable=self.stable,
            router_weight=None
            if self.router_weight is None
            else WeightReading(
                desired=wanted.weight,
                verified=self.router_weight == wanted.weight,
                shown=self.router_weight,
            ),
            router_pins=self.router_pins,
            metrics=metrics,
            request=self.request,
            gates=self.gates,
        )

    def tick(self) -> tuple[Action, ...]:
        decision = decide(self.spec, self.status, self.observations(), self.now)
        self.status = decision.status
        for action in decision.actions:
            if isinstance(action, SetWeight):
                self.router_weight = action.weight
            elif isinstance(action, SetPins):
                self.router_pins = action.versions
            elif isinstance(action, ClearRequest):
                self.request = None
            elif isinstance(action, ScaleStable):
                self.stable = DeploymentState(desired_replicas=action.replicas)  # not yet up
        self.log.extend(decision.actions)
        self.last_actions = decision.actions
        return decision.actions

    def start(self) -> "World":
        """Enter the first step and, at the same instant, read its weight back: the dwell
        starts at `now` (later steps start one tick after their weight is written)."""
        self.tick()
        self.tick()
        return self

    def run(self, duration: timedelta, every: timedelta = timedelta(minutes=1)) -> None:
        end = self.now + duration
        while self.now < end:
            self.now += every
            self.tick()

    def run_until(self, phase: str, limit: timedelta = timedelta(hours=12)) -> None:
        end = self.now + limit
        while self.status.phase != phase:
            assert self.now < end, f"still {self.status.phase} at {self.now}"
            self.now += timedelta(minutes=1)
            self.tick()

    def weights(self) -> list[int]:
        return [a.weight for a in self.log if isinstance(a, SetWeight)]

    def reasons(self) -> list[str]:
        return [a.reason for a in self.log if isinstance(a, Emit)]

    def condition(self, type_: str) -> tuple[str, str]:
        found = next(c for c in self.status.conditions if c.type == type_)
        return found.status, found.reason
