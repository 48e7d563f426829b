"""The pure rollout core: `decide` turns spec, status and observations into actions."""

from .actions import Action, ClearRequest, Emit, RunGateJob, ScaleStable, SetPins, SetWeight
from .analysis import Window, metrics_window
from .decide import Decision, decide
from .duration import format_duration, parse_duration
from .observations import (
    REQUEST_ANNOTATION,
    Counts,
    DeploymentState,
    GateJob,
    Histogram,
    MetricsFailure,
    MetricsSample,
    Observations,
)
from .spec import RolloutSpec
from .status import RolloutStatus

__all__ = [
    "REQUEST_ANNOTATION",
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
