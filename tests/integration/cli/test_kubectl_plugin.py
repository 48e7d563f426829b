"""`kubectl codemode ...` through the real kubectl, against the real control plane and operator."""

from __future__ import annotations

import queue
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from devcluster.cluster import ControlPlane
from devcluster.operator_process import Operator
from devcluster.processes import wait_for
from devcluster.prometheus import Prometheus
from devcluster.workload import gateway_workloads, rollout
from tests.integration.cli.conftest import plugin_command
from tests.integration.operator.conftest import Exporter, apply, get, status

Plugin = Callable[..., subprocess.CompletedProcess[str]]
TIMEOUT = 60
HOUR = {"duration": "1h"}


def _start(cp: ControlPlane, ns: str, steps: list[dict[str, Any]], **spec: Any) -> None:
    apply(cp, ns, *gateway_workloads(), rollout(steps=steps, **spec))


def _at(cp: ControlPlane, ns: str, phase: str, step: str | None = None) -> dict[str, Any]:
    def reached() -> Any:
        now = status(cp, ns)
        return now.get("phase") == phase and step in (None, now.get("step")) and now

    return wait_for(f"{phase} {step or ''}", reached, TIMEOUT)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def _refused(done: subprocess.CompletedProcess[str], why: str) -> None:
    assert done.returncode == 1, done.stdout
    assert why in done.stderr, done.stderr


def test_get_status_and_promote(
    control_plane: ControlPlane, namespace: str, operator: Operator, kubectl_codemode: Plugin
) -> None:
    _start(
        control_plane, namespace, [{"weight": 5, "pause": {"untilApproved": True}}, {"weight": 100}]
    )
    _at(control_plane, namespace, "Progressing", "1/2")
    header, row = _ok(kubectl_codemode("get", "-n", namespace)).splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "STEP", "V2-WEIGHT", "TIME-LEFT", "VERDICT", "AGE"]
    assert row.split()[:4] == ["mcp", "Progressing", "1/2", "5"]
    shown = _ok(kubectl_codemode("status", "mcp", "-n", namespace))
    for expected in ("Phase", "Progressing", "V2 weight", "5%", "Conditions", "WaitingForApproval"):
        assert expected in shown
    assert "promote requested" in _ok(kubectl_codemode("promote", "mcp", "-n", namespace))
    _at(control_plane, namespace, "Succeeded")
    assert status(control_plane, namespace)["lastRequest"]["outcome"] == "Applied"
    _refused(kubectl_codemode("promote", "mcp", "-n", namespace), "applies only while Progressing")


def test_skip_pause_resume_abort_retry_and_refusals(
    control_plane: ControlPlane, namespace: str, operator: Operator, kubectl_codemode: Plugin
) -> None:
    _start(
        control_plane,
        namespace,
        [{"weight": 5, "pause": HOUR}, {"weight": 25, "pause": HOUR}, {"weight": 100}],
    )
    _at(control_plane, namespace, "Progressing", "1/3")
    _refused(kubectl_codemode("promote", "mcp", "-n", namespace), "does not wait for approval")
    _refused(kubectl_codemode("resume", "mcp", "-n", namespace), 'cmr "mcp": not paused')
    _refused(
        kubectl_codemode("retry", "mcp", "-n", namespace),
        "retry applies only after RolledBack or Aborted",
    )
    _ok(kubectl_codemode("skip", "mcp", "-n", namespace))
    _at(control_plane, namespace, "Progressing", "2/3")

    assert "paused" in _ok(kubectl_codemode("pause", "mcp", "-n", namespace))
    assert get(control_plane, namespace, "cmr", "mcp")["spec"]["paused"] is True
    _at(control_plane, namespace, "Paused", "2/3")
    _refused(kubectl_codemode("pause", "mcp", "-n", namespace), "already paused")
    assert "resumed" in _ok(kubectl_codemode("resume", "mcp", "-n", namespace))
    _at(control_plane, namespace, "Progressing", "2/3")

    _ok(kubectl_codemode("abort", "mcp", "-n", namespace))
    _at(control_plane, namespace, "Aborted")
    _refused(kubectl_codemode("abort", "mcp", "-n", namespace), "all traffic is on v1")
    _ok(kubectl_codemode("retry", "mcp", "-n", namespace))
    _at(control_plane, namespace, "Progressing", "1/3")


def test_status_watch_redraws_until_done(
    control_plane: ControlPlane, namespace: str, operator: Operator, kubectl_codemode: Plugin
) -> None:
    # The first step waits for approval, so the watch surely sees it before the rollout ends.
    steps = [{"weight": 5, "pause": {"untilApproved": True}}, {"weight": 100}]
    _start(control_plane, namespace, steps)
    _at(control_plane, namespace, "Progressing", "1/2")
    command, env = plugin_command(
        control_plane,
        "status",
        "mcp",
        "-n",
        namespace,
        "--watch",
        "--interval",
        "0.5",
        "--timeout",
        "120",
    )
    watch = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert watch.stdout is not None
        reader = threading.Thread(
            target=lambda: [lines.put(line) for line in watch.stdout], daemon=True
        )
        reader.start()
        first = lines.get(timeout=TIMEOUT)  # the watch has drawn the waiting step
        _ok(kubectl_codemode("promote", "mcp", "-n", namespace))
        watch.wait(timeout=150)
        reader.join(timeout=10)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait(timeout=10)
    rest = []
    while not lines.empty():
        rest.append(lines.get_nowait())
    shown = first + "".join(rest)
    assert watch.returncode == 0, watch.stderr.read() if watch.stderr else ""
    assert "Succeeded" in shown and "100%" in shown
    assert shown.count("V2 weight") > 1  # printed again as the status changed


def test_status_shows_the_last_analysis(
    control_plane: ControlPlane,
    namespace: str,
    operator: Operator,
    exporter: Exporter,
    prometheus_for_test: Prometheus,
    kubectl_codemode: Plugin,
) -> None:
    healthy = {"rps": 200, "errorRate": 0.01, "infraRate": 0.0}
    exporter.traffic(v1=healthy, v2=healthy)
    analysis = {
        "prometheus": {"address": prometheus_for_test.url, "timeout": "3s"},
        "interval": "2s",
        "minRequests": 20,
    }
    _start(
        control_plane, namespace, [{"weight": 5, "pause": HOUR}, {"weight": 100}], analysis=analysis
    )
    wait_for(
        "an analysis with v2 requests",
        lambda: (
            (status(control_plane, namespace).get("analysis") or {})
            .get("canaryTotal", {})
            .get("requests")
        ),
        90,
        show=lambda: status(control_plane, namespace),
    )
    shown = _ok(kubectl_codemode("status", "mcp", "-n", namespace))
    assert "Analysis: " in shown and "last check 20" in shown
    assert "Sequential tests" in shown and "infraErrors" in shown
    row = _ok(kubectl_codemode("get", "-n", namespace)).splitlines()[1]
    assert row.split()[5] in ("Pass", "Inconclusive")


def test_missing_rollout_is_a_clear_error(
    control_plane: ControlPlane, namespace: str, rollout_crds: None, kubectl_codemode: Plugin
) -> None:
    for command in ("status", "promote", "pause"):
        _refused(
            kubectl_codemode(command, "x", "-n", namespace),
            f'cmr "x" not found in namespace "{namespace}"',
        )
    listed = kubectl_codemode("-n", namespace, "get", "--kubeconfig", str(control_plane.kubeconfig))
    assert listed.returncode == 0 and f'no cmr found in namespace "{namespace}"' in listed.stderr
