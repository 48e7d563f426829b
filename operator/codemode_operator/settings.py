"""The operator's settings: flags, with environment variables for the chart to set."""

from __future__ import annotations

import argparse
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

# Where a pod finds its own namespace when the chart's POD_NAMESPACE is not set.
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def _own_namespace() -> str:
    if namespace := os.environ.get("POD_NAMESPACE"):
        return namespace
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    except OSError:
        return "default"


def _own_identity() -> str:
    # The pod's name (downward API) names the active replica in the rollouts' status; out of a
    # pod, client-go's form: host and a random suffix, unique per process.
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Settings:
    tick: float  # seconds between two reconciles of one rollout
    namespaces: tuple[str, ...]  # empty: all namespaces
    lease: str | None  # the Lease of the leader election; None: standalone (acts alone)
    lease_namespace: str
    identity: str  # this replica's name in the Lease and in the rollouts' status
    lease_duration: int  # seconds without renewal after which a standby takes over
    renew_deadline: float  # seconds a leader keeps acting without a successful renewal
    retry_period: float  # seconds between two lease calls
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
            "--lease",
            default=env("CODEMODE_LEASE", "codemode-operator"),
            help="coordination.k8s.io Lease electing the one active replica",
        )
        parser.add_argument(
            "--lease-namespace",
            default=None,
            help="the Lease's namespace (default: $POD_NAMESPACE, else the pod's own)",
        )
        parser.add_argument(
            "--identity", default=None, help="this replica's name (default: $POD_NAME)"
        )
        parser.add_argument("--lease-duration", type=int, default=8, help="seconds (default 8)")
        parser.add_argument("--renew-deadline", type=float, default=5, help="seconds (default 5)")
        parser.add_argument("--retry-period", type=float, default=1.5, help="seconds (default 1.5)")
        parser.add_argument(
            "--standalone",
            action="store_true",
            default=env("CODEMODE_STANDALONE") == "1",
            help="no leader election: act at once, alone (one replica, or tests)",
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
        # client-go's (and the kubernetes client's) constraints on the three timings.
        if args.retry_period < 1:
            parser.error("--retry-period must be at least 1 second")
        if args.renew_deadline <= 1.2 * args.retry_period:
            parser.error("--renew-deadline must be more than 1.2 x --retry-period")
        if args.lease_duration <= args.renew_deadline:
            parser.error("--lease-duration must be more than --renew-deadline")
        return cls(
            tick=args.tick,
            namespaces=tuple(namespaces),
            lease=None if args.standalone else args.lease,
            lease_namespace=args.lease_namespace or _own_namespace(),
            identity=args.identity or _own_identity(),
            lease_duration=args.lease_duration,
            renew_deadline=args.renew_deadline,
            retry_period=args.retry_period,
            liveness=args.liveness,
            metrics_port=args.metrics_port,
            metrics_host=args.metrics_host,
            workers=args.workers,
        )
