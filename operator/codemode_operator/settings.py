"""The operator's settings: flags, with environment variables for the chart to set."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    tick: float  # seconds between two reconciles of one rollout
    namespaces: tuple[str, ...]  # empty: all namespaces
    peering: str | None  # None: standalone (no leader election among replicas)
    liveness: str | None
    metrics_port: int  # 0: no /metrics
    metrics_host: str
    workers: int  # threads for blocking API and Prometheus calls, shared by all rollouts

    @classmethod
    def from_args(cls, argv: list[str] | None = None) -> Settings:
        env = os.environ.get
        parser = argparse.ArgumentParser(
            prog="codemode-operator", description="Reconciles CodeModeRollouts."
        )
        parser.add_argument(
            "--tick",
            type=float,
            default=float(env("CODEMODE_TICK", "5")),
            help="seconds between reconciles of one rollout (default 5)",
        )
        parser.add_argument(
            "--namespace",
            action="append",
            default=None,
            help="watch only this namespace (repeatable); default: all",
        )
        parser.add_argument(
            "--peering",
            default=env("CODEMODE_PEERING", "codemode-operator"),
            help="kopf peering object: one active operator among replicas",
        )
        parser.add_argument(
            "--standalone",
            action="store_true",
            default=env("CODEMODE_STANDALONE") == "1",
            help="no peering (a single replica, or tests)",
        )
        parser.add_argument(
            "--liveness",
            default=env("CODEMODE_LIVENESS"),
            help="kopf liveness endpoint, e.g. http://0.0.0.0:8081/healthz",
        )
        parser.add_argument(
            "--metrics-port", type=int, default=int(env("CODEMODE_METRICS_PORT", "8080"))
        )
        parser.add_argument("--metrics-host", default=env("CODEMODE_METRICS_HOST", "0.0.0.0"))
        parser.add_argument(
            "--workers",
            type=int,
            default=int(env("CODEMODE_WORKERS", "32")),
            help="threads for blocking API/Prometheus calls (default 32)",
        )
        args = parser.parse_args(argv)
        namespaces = args.namespace or [n for n in env("CODEMODE_NAMESPACES", "").split(",") if n]
        if args.tick <= 0:
            parser.error("--tick must be positive")
        if args.workers < 1:
            parser.error("--workers must be at least 1")
        return cls(
            tick=args.tick,
            namespaces=tuple(namespaces),
            peering=None if args.standalone else args.peering,
            liveness=args.liveness,
            metrics_port=args.metrics_port,
            metrics_host=args.metrics_host,
            workers=args.workers,
        )
