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

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from codemode_operator.rollout import Counts, MetricsFailure, MetricsSample, Window
from codemode_operator.rollout.spec import Analysis


def _exact_count(matchers: str) -> str:
    series = "mcp_tool_calls_total{" + 'version="{version}"' + matchers + "{selector}}"
    return f"sum(({series} - {series} offset {{window}}) >= 0 or increase({series}[{{window}}]))"


DEFAULT_QUERIES = {
    "requests": _exact_count(""),
    "errors": _exact_count(',outcome="error"'),
    "infra_errors": _exact_count(',error_kind="infra"'),
}
VERSIONS = {"stable": "v1", "canary": "v2"}


class QueryError(Exception):
    """One query had no usable answer; the message says why."""


def queries(analysis: Analysis, version: str, window: Window) -> dict[str, str]:
    """The PromQL for one version: the spec's templates or the defaults, filled in."""
    # Milliseconds: the next window's start is this one's end, so offsets must not round.
    milliseconds = max(1, round((window.end - window.start).total_seconds() * 1000))
    overrides = analysis.queries
    templates = {
        "requests": overrides.requests or DEFAULT_QUERIES["requests"],
        "errors": overrides.errors or DEFAULT_QUERIES["errors"],
        "infra_errors": overrides.infra_errors or DEFAULT_QUERIES["infra_errors"],
    }
    fill = {"{version}": version, "{window}": f"{milliseconds}ms", "{selector}": analysis.selector}
    # Plain replacement, not str.format: PromQL's own braces must not need escaping.
    filled = {}
    for name, template in templates.items():
        for placeholder, value in fill.items():
            template = template.replace(placeholder, value)
        filled[name] = template
    return filled


def _value(result: list[dict[str, object]], query: str) -> float:
    if not result:
        return 0.0  # no series: nothing was counted in the window (not-enough-data holds)
    if len(result) > 1:
        raise QueryError(f"query returned {len(result)} series, expected one (sum it): {query}")
    value = float(result[0]["value"][1])  # type: ignore[index]
    if math.isnan(value) or math.isinf(value):
        raise QueryError(f"query returned {value}: {query}")
    return max(0.0, value)


def _query(client: PrometheusConnect, query: str, at: float, timeout: float) -> float:
    try:
        result = client.custom_query(
            query, params={"time": at, "timeout": f"{timeout:g}s"}, timeout=timeout
        )
    except PrometheusApiClientException as error:
        raise QueryError(f"Prometheus refused the query ({error}): {query}") from error
    except requests.Timeout as error:
        raise QueryError(f"Prometheus did not answer within {timeout:.0f}s") from error
    except requests.RequestException as error:
        raise QueryError(f"Prometheus unreachable: {type(error).__name__}") from error
    return _value(result, query)


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


def _sample(analysis: Analysis, window: Window) -> MetricsSample | MetricsFailure:
    client = PrometheusConnect(url=analysis.prometheus.address, disable_ssl=False)
    try:
        counts = {
            role: _counts(client, analysis, version, window) for role, version in VERSIONS.items()
        }
    except QueryError as error:
        return MetricsFailure(reason=str(error))
    return MetricsSample(start=window.start, end=window.end, **counts)


async def sample(analysis: Analysis, window: Window) -> MetricsSample | MetricsFailure:
    """The six counts of one analysis window (blocking client, so in a worker thread)."""
    return await asyncio.to_thread(_sample, analysis, window)
