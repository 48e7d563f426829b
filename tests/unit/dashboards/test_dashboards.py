"""The Grafana dashboard and the alert rules query only metrics that exist."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from codemode_operator import metrics as operator_metrics
from prometheus_client import Metric
from prometheus_client.metrics import MetricWrapperBase

from mcp_server.metrics import Metrics

REPO = Path(__file__).resolve().parents[3]
DASHBOARD = REPO / "dashboards" / "codemode-rollout.json"
ALERTS = REPO / "dashboards" / "alerts.yaml"
CHART_ALERTS = REPO / "charts" / "codemode-operator" / "templates" / "prometheusrule.yaml"
SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
# PromQL words that read like names: aggregation clauses, binary modifiers, keywords.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
KEYWORDS |= {"and", "or", "unless", "inf", "nan"}


def _series_names(families: Iterable[Metric]) -> set[str]:
    """The names a query may use: a counter's `_total`, a histogram's `_bucket`/`_sum`/`_count`."""
    names = set()
    for family in families:
        for suffix in SAMPLE_SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def known_metrics() -> set[str]:
    collectors = [c for c in vars(operator_metrics).values() if isinstance(c, MetricWrapperBase)]
    operator = _series_names(f for c in collectors for f in c.describe())
    return operator | _series_names(Metrics("v2").registry.collect())


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not labels, functions or words."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # label values
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)  # matchers and ranges
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables
    words = re.findall(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text)
    return {word for word in words if word.lower() not in KEYWORDS}


def _dashboard_exprs(panels: list[dict[str, Any]]) -> Iterator[str]:
    for panel in panels:
        yield from (target["expr"] for target in panel.get("targets", []))
        yield from _dashboard_exprs(panel.get("panels", []))


def _rule_exprs() -> list[str]:
    rules = yaml.safe_load(ALERTS.read_text())
    return [rule["expr"] for group in rules["spec"]["groups"] for rule in group["rules"]]


def test_name_parsing() -> None:
    expr = 'histogram_quantile(0.95, sum by (le) (rate(a_b_bucket{x="y z"}[5m]))) > on (v) c_total'
    assert metric_names(expr) == {"a_b_bucket", "c_total"}


def test_dashboard_loads_with_panels_and_queries() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    graphs = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len(graphs) >= 10
    assert all(panel.get("targets") for panel in graphs)
    assert all(panel["gridPos"]["w"] <= 24 for panel in graphs)


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_metric_is_emitted(source: str) -> None:
    if source == "dashboard":
        exprs = list(_dashboard_exprs(json.loads(DASHBOARD.read_text())["panels"]))
    else:
        exprs = _rule_exprs()
    used = set().union(*(metric_names(expr) for expr in exprs))
    assert used, "no metric names parsed"
    assert used <= known_metrics(), sorted(used - known_metrics())


def test_dashboard_covers_the_seed_signals() -> None:
    used = set().union(
        *(metric_names(e) for e in _dashboard_exprs(json.loads(DASHBOARD.read_text())["panels"]))
    )
    for name in (
        "mcp_tool_calls_total",
        "mcp_api_errors_total",
        "mcp_execution_wall_timeouts_total",
        "mcp_api_calls_total",
        "codemode_rollout_canary_weight",
        "codemode_rollout_analysis_verdict",
        "codemode_rollout_rollbacks_total",
    ):
        assert name in used


def test_alert_rules_pass_promtool(tmp_path: Path) -> None:
    rules = yaml.safe_load(ALERTS.read_text())
    assert rules["kind"] == "PrometheusRule" and all(
        rule["alert"] and rule["expr"]
        for group in rules["spec"]["groups"]
        for rule in group["rules"]
    )
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    plain = tmp_path / "rules.yaml"  # promtool reads the groups, without the CRD envelope
    plain.write_text(yaml.safe_dump(rules["spec"]))
    out = subprocess.run(
        [promtool, "check", "rules", str(plain)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_each_alert_is_written_once() -> None:
    """The operator's chart ships its own alerts; dashboards/alerts.yaml only the others, so an
    alert name never fires twice with two severities (the chart's rules are a Helm template)."""
    chart = set(re.findall(r"^\s*- alert: (\w+)\s*$", CHART_ALERTS.read_text(), re.MULTILINE))
    rules = yaml.safe_load(ALERTS.read_text())
    ours = {rule["alert"] for group in rules["spec"]["groups"] for rule in group["rules"]}
    assert len(chart) == 5 and ours
    assert not chart & ours, f"in both {ALERTS.name} and the chart: {sorted(chart & ours)}"
