"""The API server itself refuses bad CodeModeRollouts, naming the field."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from devcluster.cluster import ControlPlane
from devcluster.workload import rollout


def _with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(rollout())
    *parents, last = path.split(".")
    node = body["spec"]
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return body


_DELETE = object()
STEPS_UP = [{"weight": 5}, {"weight": 50}, {"weight": 25}, {"weight": 100}]

INVALID = [
    ("steps", STEPS_UP, "spec.steps", "strictly increasing"),
    ("steps", [{"weight": 5}, {"weight": 5}, {"weight": 100}], "spec.steps", "strictly increasing"),
    (
        "steps",
        [{"weight": 5}, {"weight": 50}],
        "spec.steps",
        "last of spec.steps must have weight 100",
    ),
    (
        "steps",
        [{"weight": 0}, {"weight": 100}],
        "spec.steps[0].weight",
        "greater than or equal to 1",
    ),
    (
        "steps",
        [{"weight": 5}, {"weight": 101}],
        "spec.steps[1].weight",
        "less than or equal to 100",
    ),
    (
        "steps.0.pause",
        {"duration": "30 minutes"},
        "spec.steps[0].pause.duration",
        "must be a duration",
    ),
    ("steps.0.pause", {"duration": "-5m"}, "spec.steps[0].pause.duration", "must be a duration"),
    ("steps.0.pause", {"duration": "5m", "untilApproved": True}, "spec.steps[0].pause", "not both"),
    ("progressDeadline", "ten minutes", "spec.progressDeadline", "must be a duration"),
    # Bounded: an unbounded duration overflowed the operator's clock on every tick.
    (
        "steps.0.pause",
        {"duration": "99999999h"},
        "spec.steps[0].pause.duration",
        "at most 99999 per unit",
    ),
    ("steps.0.pause", {"duration": "721h"}, "spec.steps[0].pause.duration", "at most 720h"),
    ("steps.0.pause", {"duration": "99999h"}, "spec.steps[0].pause.duration", "at most 720h"),
    ("progressDeadline", "30d", "spec.progressDeadline", "must be a duration"),
    ("progressDeadline", "1000h", "spec.progressDeadline", "at most 720h"),
    ("steps", [], "spec.steps", "at least 1 item"),
    (
        "canary",
        {"deployment": "mcp-v1", "service": "mcp-v2"},
        "spec.canary.deployment",
        "must differ",
    ),
    ("canary", {"deployment": "mcp-v2", "service": "mcp-v1"}, "spec.canary.service", "must differ"),
    ("router", {"type": "istio"}, "spec.router.type", "Unsupported value"),
    ("router", {"type": "gatewayAPI"}, "spec.router", "gatewayAPI is required"),
    ("router", {"type": "replicas"}, "spec.router", "replicas is required"),
    ("stable", {"deployment": "mcp-v1"}, "spec.stable.service", "Required value"),
    ("canary", _DELETE, "spec.canary", "Required value"),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "latency": {"quantiles": [0.5, 1.5]}},
        "spec.analysis.latency.quantiles[1]",
        "less than 1",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "latency": {"tools": 'execute"}'}},
        "spec.analysis.latency.tools",
        "without double quotes",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "latency": {"thresholds": ["fast"]}},
        "spec.analysis.latency.thresholds[0]",
        "must be a duration",
    ),
    ("notifications", {"transitions": ["StepStarted"]}, "spec.notifications.secretRef", "Required"),
    (
        "notifications",
        {"secretRef": {"name": "n"}, "transitions": ["Paused"]},
        "spec.notifications.transitions[0]",
        "Unsupported value",
    ),
    (
        "stable",
        {"deployment": "MCP_v1", "service": "mcp-v1"},
        "spec.stable.deployment",
        "must be a Kubernetes object name",
    ),
    (
        "analysis",
        {"prometheus": {"address": "prometheus:9090"}},
        "spec.analysis.prometheus.address",
        "must be an http(s) URL",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "alpha": 0},
        "spec.analysis.alpha",
        "greater than 0",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "interval": "1 min"},
        "spec.analysis.interval",
        "must be a duration",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "interval": "0s"},
        "spec.analysis.interval",
        "between 1s and 720h",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "interval": "1ms"},
        "spec.analysis.interval",
        "between 1s and 720h",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "holdOnSuspicion": {"maxDuration": "800h"}},
        "spec.analysis.holdOnSuspicion.maxDuration",
        "at most 720h",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "holdOnSuspicion": {"eValue": 0.5}},
        "spec.analysis.holdOnSuspicion.eValue",
        "greater than or equal to 1",
    ),
    (
        "analysis",
        {"prometheus": {"address": "http://p:9090"}, "holdOnSuspicion": {"maxDuration": "1 h"}},
        "spec.analysis.holdOnSuspicion.maxDuration",
        "must be a duration",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "message"), INVALID, ids=[f"{i[2]}:{i[3][:24]}" for i in INVALID]
)
def test_invalid_rollout_is_rejected(
    control_plane: ControlPlane,
    rollout_crds: None,
    namespace: str,
    path: str,
    value: Any,
    field: str,
    message: str,
) -> None:
    out = control_plane.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(_with(path, value)), check=False
    )
    assert "is invalid" in out, out
    assert field in out, out
    assert message in out, out
    # Only our messages: no CEL evaluation error (e.g. an index out of bounds) leaks through.
    assert "evaluating rule" not in out and "out of bounds" not in out, out


def test_valid_rollout_gets_the_seed_plan_by_default(
    control_plane: ControlPlane, rollout_crds: None, namespace: str
) -> None:
    body = rollout()
    del body["spec"]["steps"]
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(body))
    stored = yaml.safe_load(
        control_plane.kubectl("get", "cmr", "mcp", "-n", namespace, "-o", "yaml")
    )
    assert stored["spec"]["steps"] == [
        {"weight": 5, "pause": {"duration": "30m"}},
        {"weight": 25, "pause": {"duration": "1h"}},
        {"weight": 50, "pause": {"duration": "2h"}},
        {"weight": 100},
    ]
    assert stored["spec"]["progressDeadline"] == "10m"


def test_analysis_defaults_include_the_suspicion_hold(
    control_plane: ControlPlane, rollout_crds: None, namespace: str
) -> None:
    body = _with("analysis", {"prometheus": {"address": "http://p:9090"}})
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(body))
    stored = yaml.safe_load(
        control_plane.kubectl("get", "cmr", "mcp", "-n", namespace, "-o", "yaml")
    )
    assert stored["spec"]["analysis"]["holdOnSuspicion"] == {
        "eValue": 2,
        "maxDuration": "1h",
        "fromStep": 2,
    }
