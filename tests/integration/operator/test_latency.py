"""The latency test against a real Prometheus and the real operator (issue 18).

Every call of a version takes the exporter's scripted `latency` (no draws), so each outcome is
certain: v1's calls are never slower than 250 ms; v2's either never (healthy) or always (slow).
"""

from __future__ import annotations

import httpx
import pytest

from devcluster.processes import wait_for

from .conftest import Rig, condition

QUICK = {"rps": 200, "errorRate": 0.0, "infraRate": 0.0, "latency": 0.1}
# A threshold where v1 and v2 are both always slower (their split then is exactly the traffic's,
# evidence for "no slower") and one that only a slow v2 crosses.
THRESHOLDS = {"latency": {"thresholds": ["50ms", "250ms"]}}


def test_v2_slower_at_25_percent_rolls_back_with_the_latency_figures(rig: Rig) -> None:
    rig.exporter.traffic(v1=QUICK, v2=QUICK)
    rig.start(dwell="10s", analysis=THRESHOLDS)
    rig.wait("step 2 (25%)", lambda s: s.get("canaryWeight") == 25)
    rig.exporter.traffic(v2={"latency": 0.7})  # every v2 call now takes 700 ms
    current = rig.wait("RolledBack", lambda s: s.get("phase") == "RolledBack")
    record = current["analysis"]
    assert record["errors"]["verdict"] != "Fail" and record["infraErrors"]["verdict"] != "Fail"
    latency = record["latency"]
    assert latency["verdict"] == "Fail" and latency["eValue"] >= latency["threshold"]
    assert latency["threshold"] == pytest.approx(500)  # 0.2 of alpha
    always, slow = latency["thresholds"]
    assert (always["le"], slow["le"]) == (0.05, 0.25)
    assert slow["canarySlow"] > 0 and slow["stableSlow"] == 0 and slow["canarySlowRate"] > 0
    assert always["canarySlowRate"] == always["stableSlowRate"] == 1.0
    # The error tests had the rest of alpha: 0.95 and 0.05 of 0.8 of it.
    assert record["errors"]["threshold"] == pytest.approx(1 / (0.01 * 0.8 * 0.95))
    rolled_back = condition(current, "RolledBack")
    assert rolled_back["reason"] == "AnalysisFailed"
    assert (
        "latency: slower than 50ms v2 100.0% vs v1 100.0%, slower than 250ms v2"
        in (rolled_back["message"])
    )
    # The event is posted after the status commit that the wait above saw: wait for it too.
    wait_for(
        "the rollback's event with the latency figures",
        lambda: (
            "slower than 250ms v2"
            in rig.cp.kubectl("get", "events", "-n", rig.ns, "-o", "jsonpath={.items[*].message}")
        ),
        20,
    )
    exposition = httpx.get(rig.operator.metrics_url, timeout=5).text
    labels = f'metric="latency",name="mcp",namespace="{rig.ns}"'
    assert f"codemode_rollout_analysis_e_value{{{labels}}}" in exposition
    assert 'codemode_rollout_analysis_slow_rate{le="0.25"' in exposition


def test_healthy_latency_succeeds(rig: Rig) -> None:
    rig.exporter.traffic(v1=QUICK, v2=QUICK)
    rig.start(analysis=THRESHOLDS)
    current = rig.wait("Succeeded", lambda s: s.get("phase") == "Succeeded")
    latency = current["analysis"]["latency"]
    always, never = latency["thresholds"]
    assert always["canarySlow"] > 0 and never["canarySlow"] == never["stableSlow"] == 0
    assert latency["verdict"] == "Pass" and latency["eValue"] < 1
