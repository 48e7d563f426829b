"""Prometheus metrics: the metric contract (docs/contracts.md) plus rollout diagnostics."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from mcp_server.errors import ErrorKind

# The edges of `mcp_tool_call_duration_seconds` (seconds): the latency analysis compares the
# versions at these, and benchmarks/bench_analysis.py simulates histograms with them.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60, 300, 600)


class Metrics:
    """One registry per app, so several apps (tests) can live in one process."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.registry = CollectorRegistry()
        self.tool_calls = Counter(
            "mcp_tool_calls_total",
            "MCP tool calls",
            ["version", "tool", "outcome", "error_kind"],
            registry=self.registry,
        )
        self.tool_duration = Histogram(
            "mcp_tool_call_duration_seconds",
            "MCP tool call duration",
            ["version", "tool"],
            registry=self.registry,
            buckets=DURATION_BUCKETS,
        )
        self.api_calls = Counter(
            "mcp_api_calls_total",
            "Backend operation calls; via: execute (the api-proxy), native or tool (v1)",
            ["version", "operation", "status_class", "via"],
            registry=self.registry,
        )
        self.api_errors = Counter(
            "mcp_api_errors_total",
            "Backend 4xx answers surfaced as ApiError",
            ["version", "operation"],
            registry=self.registry,
        )
        self.native_tools = Gauge(
            "mcp_native_tool_info",
            "1 for each operation this server exposes as a native tool",
            ["version", "tool"],
            registry=self.registry,
        )
        self.wall_timeouts = Counter(
            "mcp_execution_wall_timeouts_total",
            "Executions that hit their wall-timeout",
            ["version"],
            registry=self.registry,
        )
        self.session_pins = Counter(
            "mcp_session_pins_total",
            "MCP requests by pin (mcp_server/sessions.py): new, own, foreign (refused), none",
            ["version", "era", "pin"],
            registry=self.registry,
        )

    def record_tool_call(self, tool: str, seconds: float, kind: ErrorKind | None) -> None:
        outcome, error_kind = ("ok", "none") if kind is None else ("error", kind.value)
        self.tool_calls.labels(self.version, tool, outcome, error_kind).inc()
        self.tool_duration.labels(self.version, tool).observe(seconds)
        if kind is ErrorKind.TIMEOUT:
            self.wall_timeouts.labels(self.version).inc()

    def record_natives(self, names: Iterable[str]) -> None:
        for name in names:
            self.native_tools.labels(self.version, name).set(1)

    def record_api_call(self, operation: str, status: int | None, via: str) -> None:
        status_class = "unreachable" if status is None else f"{status // 100}xx"
        self.api_calls.labels(self.version, operation, status_class, via).inc()
        if status is not None and 400 <= status < 500:
            self.api_errors.labels(self.version, operation).inc()
