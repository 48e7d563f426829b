"""Counts per version from Prometheus over the analysis window, or the reason there are none.

Every kind of Prometheus trouble becomes a `MetricsFailure` with a reason an SRE can act on;
the core turns it into a hold (never a promotion).

The default queries count exactly: per series, the counter at the window's end minus the counter
at its start (`offset`), so consecutive windows add up to the true total and a burst between two
scrapes lands in exactly one window. `increase()` would extrapolate each window's in-window
samples to its full length: with a 15s scrape and a 1m window that scales counts by 4/3, which
overstates the evidence (e becomes e^(4/3)) and would break the test's alpha, and it drops a
jump that falls between two windows. Only series without a start value or that reset in the
window (a restarted container) fall back to `increase()`.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Any, TypedDict

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from codemode_operator.apis.spec import Analysis
from codemode_operator.rollout import Counts, Histogram, MetricsFailure, MetricsSample, Window


def _exact(series: str, by: str = "") -> str:
    """Per series, the counter at the window's end minus at its start, summed."""
    return (
        f"sum{by}(({series} - {series} offset {{window}}) >= 0 or increase({series}[{{window}}]))"
    )


def _exact_count(matchers: str) -> str:
    return _exact("mcp_tool_calls_total{" + 'version="{version}"' + matchers + "{selector}}")


def latency_query(version: str, tools: str, window: str, selector: str) -> str:
    """Requests per bucket edge (`le`) of one version's tools over the window, exactly."""
    tool = f',tool=~"{tools}"' if tools else ""
    series = f'mcp_tool_call_duration_seconds_bucket{{version="{version}"{tool}{selector}}}'
    return _exact(series, " by (le)").replace("{window}", window)


DEFAULT_QUERIES = {
    "requests": _exact_count(""),
    "errors": _exact_count(',outcome="error"'),
    "infra_errors": _exact_count(',error_kind="infra"'),
}
VERSIONS = {"stable": "v1", "canary": "v2"}


class QueryError(Exception):
    """One query had no usable answer; the message says why."""


class Series(TypedDict):
    """One series of an instant query's result (a vector), as Prometheus' HTTP API sends it."""

    metric: dict[str, str]
    value: list[float | str]  # [unix time, the sample's value as a string]


def _milliseconds(start: datetime, end: datetime) -> str:
    # Milliseconds: the next window's start is this one's end, so offsets must not round.
    return f"{max(1, round((end - start).total_seconds() * 1000))}ms"


def queries(analysis: Analysis, version: str, window: Window) -> dict[str, str]:
    """The PromQL for one version: the spec's templates or the defaults, filled in."""
    overrides = analysis.queries
    templates = {
        "requests": overrides.requests or DEFAULT_QUERIES["requests"],
        "errors": overrides.errors or DEFAULT_QUERIES["errors"],
        "infra_errors": overrides.infra_errors or DEFAULT_QUERIES["infra_errors"],
    }
    fill = {
        "{version}": version,
        "{window}": _milliseconds(window.start, window.end),
        "{selector}": analysis.selector,
    }
    # Plain replacement, not str.format: PromQL's own braces must not need escaping.
    filled = {}
    for name, template in templates.items():
        for placeholder, value in fill.items():
            template = template.replace(placeholder, value)
        filled[name] = template
    return filled


def _value(result: list[Series], query: str) -> float:
    if not result:
        return 0.0  # no series: nothing was counted in the window (not-enough-data holds)
    if len(result) > 1:
        raise QueryError(f"query returned {len(result)} series, expected one (sum it): {query}")
    value = float(result[0]["value"][1])
    if math.isnan(value) or math.isinf(value):
        raise QueryError(f"query returned {value}: {query}")
    return max(0.0, value)


def _result(client: PrometheusConnect, query: str, at: float, timeout: float) -> list[Series]:
    try:
        return client.custom_query(
            query, params={"time": at, "timeout": f"{timeout:g}s"}, timeout=timeout
        )
    except PrometheusApiClientException as error:
        raise QueryError(f"Prometheus refused the query ({error}): {query}") from error
    except requests.Timeout as error:
        raise QueryError(f"Prometheus did not answer within {timeout:.0f}s") from error
    except requests.RequestException as error:
        raise QueryError(f"Prometheus unreachable: {type(error).__name__}") from error


def _query(client: PrometheusConnect, query: str, at: float, timeout: float) -> float:
    return _value(_result(client, query, at, timeout), query)


def _histogram(
    client: PrometheusConnect, analysis: Analysis, version: str, start: datetime, end: datetime
) -> Histogram:
    latency = analysis.latency
    assert latency is not None
    tools = (
        latency.stable_tools
        if version == "v1" and latency.stable_tools is not None
        else latency.tools
    )
    query = latency_query(version, tools, _milliseconds(start, end), analysis.selector)
    result = _result(client, query, end.timestamp(), analysis.prometheus.timeout.total_seconds())
    edges, counts = [], []
    for series in result:
        le = series.get("metric", {}).get("le")
        value = float(series["value"][1])
        if le is None or math.isnan(value):
            raise QueryError(f"query returned a series without le, or NaN: {query}")
        edges.append(float(le))  # "+Inf" parses as inf
        counts.append(value)
    if math.inf not in edges:  # no series (no requests), or a broken exposition
        edges, counts = [*edges, math.inf], [*counts, max(counts, default=0.0)]
    return Histogram.model_validate({"le": edges, "counts": counts})


def _counts(client: PrometheusConnect, analysis: Analysis, version: str, window: Window) -> Counts:
    timeout = analysis.prometheus.timeout.total_seconds()
    at = window.end.timestamp()
    values = {
        name: _query(client, q, at, timeout)
        for name, q in queries(analysis, version, window).items()
    }
    # A fallback increase() (or a custom query) extrapolates: counts can disagree by a fraction.
    requests_ = round(values["requests"])
    errors = min(round(values["errors"]), requests_)
    return Counts(
        requests=requests_, errors=errors, infra_errors=min(round(values["infra_errors"]), errors)
    )


def _latency(client: PrometheusConnect, analysis: Analysis, window: Window) -> dict[str, Any]:
    """Both versions' histograms over the window, and v1's before it when edges are due."""
    if analysis.latency is None:
        return {}
    found: dict[str, Any] = {
        f"{role}_latency": _histogram(client, analysis, version, window.start, window.end)
        for role, version in VERSIONS.items()
    }
    if window.baseline_start is not None:
        found["stable_baseline"] = _histogram(
            client, analysis, VERSIONS["stable"], window.baseline_start, window.start
        )
    return found


def _sample(analysis: Analysis, window: Window) -> MetricsSample | MetricsFailure:
    client = PrometheusConnect(url=analysis.prometheus.address, disable_ssl=False)
    try:
        counts = {
            role: _counts(client, analysis, version, window) for role, version in VERSIONS.items()
        }
        histograms = _latency(client, analysis, window)
    except QueryError as error:
        return MetricsFailure(reason=str(error))
    return MetricsSample(start=window.start, end=window.end, **counts, **histograms)


async def sample(analysis: Analysis, window: Window) -> MetricsSample | MetricsFailure:
    """The six counts of one analysis window (blocking client, so in a worker thread)."""
    return await asyncio.to_thread(_sample, analysis, window)
