"""The pure rollout core: `decide` turns spec, status and observations into actions."""

from codemode_operator.apis.duration import format_duration, parse_duration
from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import Counts, RolloutStatus

from .actions import Action, ClearRequest, Emit, RunGateJob, ScaleStable, SetPins, SetWeight
from .analysis import Window, metrics_window
from .decide import Decision, decide
from .observations import (
    DeploymentState,
    GateJob,
    Histogram,
    MetricsFailure,
    MetricsSample,
    Observations,
)

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
    "RolloutSpec",
    "RolloutStatus",
    "RunGateJob",
    "ScaleStable",
    "SetPins",
    "SetWeight",
    "Window",
    "decide",
    "format_duration",
    "metrics_window",
    "parse_duration",
]
