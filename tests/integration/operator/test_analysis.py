"""Issue 8's acceptance: a real Prometheus scraping a real process, the operator deciding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from devcluster import prometheus
from devcluster.cluster import ControlPlane
from devcluster.prometheus import Prometheus

from .conftest import (
    ROUTE_WEIGHTS,
    Exporter,
    Operator,
    Watch,
    apply,
    condition,
    gateway_workloads,
    rollout,
    status,
    wait_for,
)

TIMEOUT = 90
HEALTHY = {"rps": 200, "errorRate": 0.01, "infraRate": 0.0}


def _setup(
    cp: ControlPlane,
    ns: str,
    prom: Prometheus,
    dwell: str = "4s",
    before_rollout: Callable[[], object] = lambda: None,
    **analysis: Any,
) -> None:
    steps = [{"weight": w, "pause": {"duration": dwell}} for w in (5, 25, 50)] + [{"weight": 100}]
    spec = {
        "prometheus": {"address": prom.url, "timeout": "3s"},
        "interval": "2s",
        "minRequests": 20,
        "onMetricsUnavailable": {"after": "1h", "action": "Hold"},
        **analysis,
    }
    apply(cp, ns, *gateway_workloads())
    before_rollout()
    apply(cp, ns, rollout(steps=steps, analysis=spec))


def test_healthy_v2_succeeds(
    control_plane: ControlPlane,
    namespace: str,
    operator: Operator,
    exporter: Exporter,
    prometheus_for_test: Prometheus,
) -> None:
    exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    _setup(control_plane, namespace, prometheus_for_test)
    wait_for(
        "Succeeded",
        lambda: status(control_plane, namespace).get("phase") == "Succeeded",
        TIMEOUT,
        show=lambda: status(control_plane, namespace),
    )
    analysis = status(control_plane, namespace)["analysis"]
    assert analysis["canaryTotal"]["requests"] > 0 and analysis["stableTotal"]["requests"] > 0


def test_infra_errors_at_25_roll_back(
    control_plane: ControlPlane,
    namespace: str,
    operator: Operator,
    exporter: Exporter,
    prometheus_for_test: Prometheus,
    watch: Callable[..., Watch],
) -> None:
    exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    watches: list[Watch] = []
    _setup(
        control_plane,
        namespace,
        prometheus_for_test,
        dwell="20s",
        before_rollout=lambda: watches.append(watch("httproute", "mcp", ROUTE_WEIGHTS)),
    )
    weights = watches[0]
    wait_for(
        "step 2 (25%)", lambda: status(control_plane, namespace).get("canaryWeight") == 25, TIMEOUT
    )
    exporter.traffic(v2={"infraRate": 0.2})
    current = wait_for(
        "RolledBack",
        lambda: (s := status(control_plane, namespace)).get("phase") == "RolledBack" and s,
        TIMEOUT,
    )
    wait_for(
        "route back to v1", lambda: weights.values()[-1:] == ["100 0"], 10, show=weights.values
    )
    assert weights.values() == ["100", "95 5", "75 25", "100 0"]
    infra = current["analysis"]["infraErrors"]
    assert infra["verdict"] == "Fail" and infra["canaryErrors"] > 0
    assert infra["eValue"] >= infra["threshold"]  # the evidence crossed 1/(its share of alpha)
    assert condition(current, "RolledBack")["status"] == "True"
    events = control_plane.kubectl(
        "get",
        "events",
        "-n",
        namespace,
        "-o",
        "jsonpath={range .items[*]}{.type} {.reason}: {.message}{'\\n'}{end}",
    )
    assert "Warning" in events and "infra" in events.lower()
    exposition = httpx.get(operator.metrics_url, timeout=5).text
    labels = f'name="mcp",namespace="{namespace}"'  # exposition sorts label names
    assert f'codemode_rollout_phase{{{labels},phase="RolledBack"}} 1.0' in exposition
    assert f"codemode_rollout_rollbacks_total{{{labels}" in exposition
    assert f"codemode_rollout_canary_weight{{{labels}}} 0.0" in exposition


def test_prometheus_down_holds_then_continues(
    control_plane: ControlPlane,
    namespace: str,
    operator: Operator,
    exporter: Exporter,
    prometheus_for_test: Prometheus,
) -> None:
    exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    _setup(control_plane, namespace, prometheus_for_test, dwell="6s")
    wait_for("step 1", lambda: status(control_plane, namespace).get("canaryWeight") == 5, TIMEOUT)
    port = int(prometheus_for_test.url.rsplit(":", 1)[1])
    prometheus_for_test.kill()
    current = wait_for(
        "hold on metrics",
        lambda: (
            (s := status(control_plane, namespace))
            and any(c.get("reason") == "MetricsUnavailable" for c in s.get("conditions", []))
            and s
        ),
        TIMEOUT,
    )
    held_at = current["stepIndex"]
    wait_for(
        "dwell over while Prometheus is down",
        lambda: status(control_plane, namespace).get("stepRemaining") in ("0s", None),
        TIMEOUT,
    )
    assert status(control_plane, namespace)["stepIndex"] == held_at  # never advances blind
    assert status(control_plane, namespace)["phase"] == "Progressing"
    again = prometheus.start(
        prometheus_for_test.workdir,
        [prometheus.static_job("mcp", [f"127.0.0.1:{exporter.port}"])],
        port=port,
    )
    try:
        wait_for(
            "Succeeded",
            lambda: status(control_plane, namespace).get("phase") == "Succeeded",
            TIMEOUT,
        )
    finally:
        again.stop()


def test_no_traffic_holds(
    control_plane: ControlPlane,
    namespace: str,
    operator: Operator,
    exporter: Exporter,
    prometheus_for_test: Prometheus,
) -> None:
    _setup(control_plane, namespace, prometheus_for_test, dwell="2s")
    wait_for("step 1", lambda: status(control_plane, namespace).get("canaryWeight") == 5, TIMEOUT)
    current = wait_for(
        "waiting for data",
        lambda: (
            (s := status(control_plane, namespace))
            and condition(s, "Progressing").get("reason") == "WaitingForData"
            and s
        ),
        TIMEOUT,
    )
    assert current["stepIndex"] == 0 and current["phase"] == "Progressing"
