"""Prometheus metrics of one runner (own registry, so several runners can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.executions = Counter(
            "sandbox_executions_total",
            "Executions by outcome and error kind.",
            ["outcome", "error_kind"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "sandbox_execution_duration_seconds",
            "Time from job hand-over to the process being gone.",
            ["outcome"],
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600),
            registry=self.registry,
        )
        self.pool_ready = Gauge(
            "sandbox_pool_ready",
            "Pre-started isolate processes waiting for a job.",
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "sandbox_pool_size", "Configured concurrent executions.", registry=self.registry
        )
        self.running = Gauge(
            "sandbox_executions_running", "Executions in progress.", registry=self.registry
        )
        self.queue_depth = Gauge(
            "sandbox_queue_depth", "Requests waiting for a free slot.", registry=self.registry
        )
        self.timeout_kills = Counter(
            "sandbox_timeout_kills_total",
            "Processes killed at their wall-timeout.",
            registry=self.registry,
        )
        self.kill_latency = Histogram(
            "sandbox_timeout_kill_latency_seconds",
            "From the wall deadline to the killed process being reaped.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
            registry=self.registry,
        )
        self.spawn_failures = Counter(
            "sandbox_spawn_failures_total",
            "Isolate processes that failed to start.",
            registry=self.registry,
        )

    def record(self, error_kind: str | None, duration: float) -> None:
        outcome = "ok" if error_kind is None else "error"
        self.executions.labels(outcome=outcome, error_kind=error_kind or "none").inc()
        self.duration.labels(outcome=outcome).observe(duration)
