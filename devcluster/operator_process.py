"""The operator as a real process against a local control plane, and the CRDs it needs.

For the operator's integration tests and bench_operator; the demo runs the operator from its
chart and image instead (devcluster/staging_install.py)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from devcluster.cluster import ControlPlane
from devcluster.processes import ManagedProcess, free_port, spawn, wait_until

REPO = Path(__file__).resolve().parent.parent
ROLLOUT_CRD = "crd/codemoderollouts.codemode.io"
START_TIMEOUT = 60


def install_crds(cp: ControlPlane) -> None:
    """The project's CRDs (crds/), applied and waited for (bounded) until served."""
    for crd in sorted((REPO / "crds").glob("*.yaml")):
        cp.kubectl("apply", "--server-side", "-f", str(crd))
    cp.kubectl("wait", "--for=condition=Established", "--timeout=60s", ROLLOUT_CRD)


class Operator:
    """`python -m codemode_operator` for one namespace (None: all); kill() is a SIGKILL."""

    def __init__(
        self,
        cp: ControlPlane,
        namespace: str | None,
        logs: Path,
        tick: float = 0.5,
        args: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        module: str = "codemode_operator",
    ) -> None:
        self.cp, self.namespace, self.logs, self.tick = cp, namespace, logs, tick
        self.module = module  # or a test's wrapper (tests/integration/operator/crashing_operator)
        # A chart's flags and a ServiceAccount's kubeconfig instead of the defaults below.
        self.args = list(args) if args is not None else self._default_args()
        self.env = dict(env) if env is not None else cp.env
        self.process: ManagedProcess | None = None
        self.metrics_url = ""

    def _default_args(self) -> list[str]:
        namespace = [f"--namespace={self.namespace}"] if self.namespace else []
        return ["--standalone", f"--tick={self.tick}", *namespace]

    def start(self) -> None:
        metrics, live = free_port(), free_port()
        self.metrics_url = f"http://127.0.0.1:{metrics}/metrics"
        self.process = spawn(
            "operator",
            [
                sys.executable,
                "-m",
                self.module,
                *self.args,
                f"--metrics-port={metrics}",
                "--metrics-host=127.0.0.1",
                f"--liveness=http://127.0.0.1:{live}/healthz",
            ],
            self.logs,
            env=self.env,
            cwd=REPO,
        )
        process = self.process
        wait_until(
            "operator liveness",
            lambda: httpx.get(f"http://127.0.0.1:{live}/healthz", timeout=2).is_success,
            START_TIMEOUT,
            alive=process.ensure_running,
        )

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def exited(self) -> bool:
        return self.process is not None and self.process.popen.poll() is not None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
