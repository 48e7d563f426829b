"""`kubectl get --watch` of one field in the background: every change, in order, none missed.

A watch is only useful from its first line on: kubectl prints the field's current value once
it has listed the object, and every change after. Until then a change can be missed (a fresh
clone's `make test` under load lost the first weight "100" that way), so `Watch` returns only
once that first line is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

from devcluster.cluster import ControlPlane
from devcluster.processes import spawn, wait_until

FIRST_LINE_TIMEOUT = 60
KLOG = ("E1", "W1", "I1")  # kubectl's own log lines, on the same stream


class Watch:
    def __init__(
        self, cp: ControlPlane, namespace: str, kind: str, name: str, jsonpath: str, logs: Path
    ) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        field = hashlib.sha256(jsonpath.encode()).hexdigest()[:8]  # two watches of one object
        self.process = spawn(
            f"watch-{kind}-{name}-{field}",
            [
                str(cp.bin_dir / "kubectl"),
                f"--kubeconfig={cp.kubeconfig}",
                "get",
                kind,
                name,
                "-n",
                namespace,
                "--watch",
                "-o",
                f"jsonpath={jsonpath}{{'\\n'}}",
            ],
            logs,
        )
        self.log = self.process.log
        try:
            wait_until(
                f"the first line of `kubectl get {kind} {name} --watch` ({jsonpath})",
                lambda: bool(self._lines()),
                FIRST_LINE_TIMEOUT,
                interval=0.05,
                alive=self.process.ensure_running,
            )
        except BaseException:
            self.stop()
            raise

    def _lines(self) -> list[str]:
        """The complete lines written so far, kubectl's own log lines left out (an empty
        line is a value: the field is not set)."""
        text = self.log.read_text(errors="replace")
        complete = [line.strip() for line in text.split("\n")[:-1]]
        return [line for line in complete if not line.startswith(KLOG)]

    def values(self) -> list[str]:
        """Distinct successive values (a repeated event of the same value counts once)."""
        lines = [line for line in self._lines() if line]
        return [v for i, v in enumerate(lines) if i == 0 or lines[i - 1] != v]

    def stop(self) -> None:
        self.process.stop()
