"""The pure rollout core: `plan` says what a tick must observe, `decide` turns spec, status and
observations into actions."""

from codemode_operator.apis.duration import format_duration, parse_duration
from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import Counts, RolloutStatus

from .actions import Action, ClearRequest, Emit, RunGateJob, ScaleStable, SetPins, SetWeight
from .analysis import Window
from .decide import Decision, decide
from .observations import (
    DeploymentState,
    GateJob,
    Histogram,
    MetricsFailure,
    MetricsSample,
    Observations,
    WeightReading,
)
from .plan import Plan, plan

__all__ = [
    "Action",
    "ClearRequest",
    "Counts",
    "Decision",
    "DeploymentState",
    "Emit",
    "GateJob",
    "Histogram",
    "MetricsFailure",
    "MetricsSample",
    "Observations",
    "Plan",
    "RolloutSpec",
    "RolloutStatus",
    "RunGateJob",
    "ScaleStable",
    "SetPins",
    "SetWeight",
    "WeightReading",
    "Window",
    "decide",
    "format_duration",
    "parse_duration",
    "plan",
]
