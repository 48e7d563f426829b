"""Issue 8's acceptance: a real Prometheus scraping a real process, the operator deciding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from devcluster import prometheus
from devcluster.processes import wait_for
from devcluster.watch import Watch

from .conftest import ROUTE_WEIGHTS, Rig, condition

HEALTHY = {"rps": 200, "errorRate": 0.01, "infraRate": 0.0}


def test_healthy_v2_succeeds(rig: Rig) -> None:
    rig.exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    rig.start()
    analysis = rig.wait("Succeeded", lambda s: s.get("phase") == "Succeeded")["analysis"]
    assert analysis["canaryTotal"]["requests"] > 0 and analysis["stableTotal"]["requests"] > 0


def test_infra_errors_at_25_roll_back(rig: Rig, watch: Callable[..., Watch]) -> None:
    rig.exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    watches: list[Watch] = []
    rig.start(
        dwell="20s",
        before_rollout=lambda: watches.append(watch("httproute", "mcp", ROUTE_WEIGHTS)),
    )
    weights = watches[0]
    rig.wait("step 2 (25%)", lambda s: s.get("canaryWeight") == 25)
    rig.exporter.traffic(v2={"infraRate": 0.2})
    current = rig.wait("RolledBack", lambda s: s.get("phase") == "RolledBack")
    wait_for(
        "route back to v1", lambda: weights.values()[-1:] == ["100 0"], 10, show=weights.values
    )
    assert weights.values() == ["100", "95 5", "75 25", "100 0"]
    infra = current["analysis"]["infraErrors"]
    assert infra["verdict"] == "Fail" and infra["canaryErrors"] > 0
    assert infra["eValue"] >= infra["threshold"]  # the evidence crossed 1/(its share of alpha)
    assert condition(current, "RolledBack")["status"] == "True"
    events = rig.cp.kubectl(
        "get",
        "events",
        "-n",
        rig.ns,
        "-o",
        "jsonpath={range .items[*]}{.type} {.reason}: {.message}{'\\n'}{end}",
    )
    assert "Warning" in events and "infra" in events.lower()
    exposition = httpx.get(rig.operator.metrics_url, timeout=5).text
    labels = f'name="mcp",namespace="{rig.ns}"'  # exposition sorts label names
    assert f'codemode_rollout_phase{{{labels},phase="RolledBack"}} 1.0' in exposition
    assert f"codemode_rollout_rollbacks_total{{{labels}" in exposition
    assert f"codemode_rollout_canary_weight{{{labels}}} 0.0" in exposition


def test_suspected_regression_holds_the_step_then_it_goes_on(rig: Rig) -> None:
    quiet = {"rps": 200, "errorRate": 0.0, "infraRate": 0.0}  # no evidence but the burst
    rig.exporter.traffic(v1=quiet, v2=quiet)
    rig.start(dwell="10s", hold="20s")
    # A step's dwell starts once its weight is read back: then it has stepStartedAt/EndsAt.
    step2 = rig.wait(
        "step 2 (25%) started", lambda s: s.get("canaryWeight") == 25 and "stepEndsAt" in s
    )
    # 12 v2 errors and none from v1 at a ~50% share: e ≈ 44, over 2 but short of 105.
    rig.exporter.errors("v2", 12)
    held = rig.wait(
        "suspicion hold",
        lambda s: condition(s, "Progressing").get("reason") == "SuspectedRegression",
    )
    assert held["canaryWeight"] == 25 and held["phase"] == "Progressing"
    errors = held["analysis"]["errors"]
    assert 2 <= errors["eValue"] < errors["threshold"]
    assert "holding 25% until" in condition(held, "Progressing")["message"]
    events = rig.cp.kubectl("get", "events", "-n", rig.ns, "-o", "jsonpath={.items[*].reason}")
    assert "SuspectedRegression" in events.split()
    step3 = rig.wait(
        "step 3 after the hold", lambda s: s.get("canaryWeight") == 50 and "stepStartedAt" in s
    )
    dwell_end = datetime.fromisoformat(step2["stepEndsAt"])
    # It went on when the hold's 20s were up (e stayed put), not when the dwell ended.
    assert datetime.fromisoformat(step3["stepStartedAt"]) >= dwell_end + timedelta(seconds=19)
    assert step3["phase"] == "Progressing"


def test_prometheus_down_holds_then_continues(rig: Rig) -> None:
    rig.exporter.traffic(v1=HEALTHY, v2=HEALTHY)
    rig.start(dwell="6s")
    rig.wait("step 1", lambda s: s.get("canaryWeight") == 5)
    port = int(rig.prom.url.rsplit(":", 1)[1])
    rig.prom.kill()
    current = rig.wait(
        "hold on metrics",
        lambda s: any(c.get("reason") == "MetricsUnavailable" for c in s.get("conditions", [])),
    )
    held_at = current["stepIndex"]
    rig.wait(
        "dwell over while Prometheus is down", lambda s: s.get("stepRemaining") in ("0s", None)
    )
    assert rig.status()["stepIndex"] == held_at  # never advances blind
    assert rig.status()["phase"] == "Progressing"
    again = prometheus.start(
        rig.prom.workdir,
        [prometheus.static_job("mcp", [f"127.0.0.1:{rig.exporter.port}"])],
        port=port,
    )
    try:
        rig.wait("Succeeded", lambda s: s.get("phase") == "Succeeded")
    finally:
        again.stop()


def test_no_traffic_holds(rig: Rig) -> None:
    rig.start(dwell="2s")
    rig.wait("step 1", lambda s: s.get("canaryWeight") == 5)
    current = rig.wait(
        "waiting for data",
        lambda s: condition(s, "Progressing").get("reason") == "WaitingForData",
    )
    assert current["stepIndex"] == 0 and current["phase"] == "Progressing"
