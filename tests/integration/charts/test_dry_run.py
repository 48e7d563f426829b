"""Every chart, with default and example values, is accepted by the real API server."""

from __future__ import annotations

from pathlib import Path

import pytest

from devcluster.cluster import ControlPlane
from tests.charts import CHARTS, OPERATOR_CHART, example_values, template

CASES = [(c, None) for c in CHARTS] + [(c, v) for c in CHARTS for v in example_values(c)]


@pytest.mark.parametrize(("chart", "values"), CASES, ids=lambda v: v.name if v else "default")
def test_server_side_dry_run_accepts_the_rendered_chart(
    control_plane: ControlPlane,
    rollout_crds: None,
    namespace: str,
    chart: Path,
    values: Path | None,
) -> None:
    args = ["--values", str(values)] if values else []
    if chart == OPERATOR_CHART and values:
        # The example's Roles must land in namespaces that exist; prometheus-operator's CRDs
        # are not installed here (its objects are checked by promtool in tests/unit/charts).
        args += [
            "--set",
            f"watchNamespaces={{{namespace}}}",
            "--set",
            "serviceMonitor.enabled=false,prometheusRule.enabled=false",
        ]
    manifest = template(chart, "codemode", namespace, *args)
    out = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", "-", input=manifest
    )
    assert "(server dry run)" in out
