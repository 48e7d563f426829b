"""The usage report from plain data: what each query answers, and what the table says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from codemode_cli.usage import (
    Sample,
    UsageError,
    counted,
    parse_duration,
    time_range,
    usage_report,
)

END = datetime(2026, 12, 1, tzinfo=UTC)


def test_durations_and_ranges() -> None:
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    for bad in ("", "7", "7x", "d7", "1h 2m"):
        with pytest.raises(UsageError, match="bad duration"):
            parse_duration(bad)
    assert time_range("24h", "2026-12-01T00:00:00Z") == (END - timedelta(hours=24), END)
    with pytest.raises(UsageError, match="bad --until"):
        time_range("1d", "yesterday")


def test_counts_are_exact_per_series_with_fallbacks() -> None:
    expr = counted("c_total", 'namespace="mcp"', 3600, "version")
    x = 'c_total{namespace="mcp"}'
    assert expr == (
        f"sum by (version) (({x} - {x} offset 3600s) >= 0 or ({x} unless {x} offset 3600s)"
        f" or increase({x}[3600s]))"
    )


def _answers(promql: str) -> list[Sample]:
    """Prometheus as this test scripts it: the answer to each query the report makes."""
    if "mcp_native_tool_info" in promql:
        return [({"tool": "getDeployment"}, 1.0)]
    if "mcp_api_calls_total" in promql:
        if 'status_class="4xx"' in promql:
            return [({"operation": "getProject"}, 3.0)]
        return [
            ({"operation": "getDeployment"}, 50.0),
            ({"operation": "listDomains"}, 7.0),
            ({"operation": "getProject"}, 9.0),
        ]
    if "mcp_execution_wall_timeouts_total" in promql:
        return [({"version": "v2"}, 1.0)]
    if 'error_kind="api"' in promql:
        return [({"version": "v1"}, 2.0), ({"version": "v2"}, 4.0)]
    if "version, tool" in promql:
        return [
            ({"version": "v2", "tool": "search"}, 10.0),
            ({"version": "v2", "tool": "execute"}, 25.0),
            ({"version": "v2", "tool": "pollJob"}, 3.0),
            ({"version": "v2", "tool": "getDeployment"}, 2.0),
            ({"version": "v1", "tool": "listRegions"}, 40.0),
            ({"version": "v1", "tool": "unknown"}, 1.0),
        ]
    return [({"version": "v1"}, 41.0), ({"version": "v2"}, 40.0)]


def test_the_report_per_version_and_the_candidates() -> None:
    report = usage_report(_answers, "mcp", END - timedelta(days=7), END, 'namespace="mcp"', 2)
    v1, v2 = report.versions
    assert v2.by_kind == {"search": 10, "execute": 25, "pollJob": 3, "natives": 2}
    assert (v2.calls, v2.api_errors, v2.wall_timeouts, v2.api_error_rate) == (40, 4, 1, 0.1)
    assert v1.by_kind["natives"] == 40 and v1.wall_timeouts == 0  # "unknown" is no native
    # getDeployment is a native already; the top 2 of the rest, with their 4xx.
    assert [(c.operation, c.calls, c.client_errors) for c in report.candidates] == [
        ("getProject", 9, 3),
        ("listDomains", 7, 0),
    ]
    assert report.as_dict()["versions"][1]["api_error_rate"] == 0.1
