"""`make demo` end to end: the demo as a real subprocess, judged by the summary it writes.

It runs on the staging stack (a real kubelet node, the charts, Traefik): `make images` first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# The goal is under 10 minutes: 2m48s at load 3 to 10, about 7 at load 20 (docs/demo.md).
DEMO_TIMEOUT = 900

pytestmark = [
    pytest.mark.staging,
    pytest.mark.timeout(DEMO_TIMEOUT + 60),
    pytest.mark.slow,
    pytest.mark.cluster,
    pytest.mark.prometheus,
    pytest.mark.skipif(
        os.environ.get("CODEMODE_EXISTING_CLUSTER") == "1",
        reason="the demo always starts its own local control plane",
    ),
]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has stopped; only its parent's bookkeeping is left


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if text in argv:
            found.append(f"{cmdline.parent.name}: {argv}")
    return found


def test_demo_rolls_a_forward_and_b_back(tmp_path_factory: pytest.TempPathFactory) -> None:
    # A short folder: the node's containerd sockets live under it (unix paths: <= 104 bytes).
    base = tmp_path_factory.mktemp("demo")
    summary_path, workdir = base / "summary.json", base / "work"
    run = subprocess.run(
        [sys.executable, "-m", "demo", "--json", str(summary_path), "--workdir", str(workdir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    assert run.returncode == 0, f"{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    summary = json.loads(summary_path.read_text())
    healthy, broken = summary["rollouts"]

    assert healthy["phase"] == "Succeeded"
    assert healthy["finalWeight"] == 100
    assert healthy["stepsWalked"] == [0, 5, 25, 50, 100]

    assert broken["phase"] == "RolledBack"
    assert broken["finalWeight"] == 0
    assert broken["stepsWalked"] == [0, 5, 25, 0]
    assert broken["rolledBackAtWeight"] == 25
    assert broken["prometheus"]["v2"]["infraErrors"] > 0
    assert broken["prometheus"]["v1"]["infraErrors"] == 0
    # Caught at 25% (stepsWalked above): how fast is measured, not asserted (docs/demo.md). The
    # weight places conversations, so v2's evidence comes at the pace of the few conversations
    # on it, which on a loaded machine is slow: 11 s idle-ish, 26 s at load average 22.
    assert broken["detectSeconds"] > 0

    # The traffic went through Traefik, which counted both versions in both rollouts.
    assert summary["gateway"]["implementation"].startswith("Traefik v3.")
    # Every pod (both charts', the backends') ran on the real node, a kubelet of the pinned
    # Kubernetes with containerd, not on kwok.
    node = summary["node"]
    assert node["labels"] == {"codemode.io/node": "real"}, node
    assert node["kubeletReports"] and node["containerRuntime"].startswith("containerd://")
    assert set(node["pods"].values()) == {node["name"]}, node["pods"]
    assert any(pod.startswith("mcp/codemode-mcp-v2-") for pod in node["pods"]), node["pods"]
    assert any(pod.startswith("codemode-system/codemode-operator-") for pod in node["pods"])

    load = summary["load"]
    # One conversation, one version; a failed one says why (its error, when, on which version).
    assert load["mixed"] == 0 and load["failed"] == 0, (load["breaks"], load)
    versions = {key.split()[0] for key in load["conversations"]}
    assert versions == {"v1", "v2"}, load["conversations"]

    for rollout in (healthy, broken):
        assert rollout["gateway"]["v1"] > 0 and rollout["gateway"]["v2"] > 0, rollout["gateway"]

    assert [name for name, pid in summary["pids"].items() if _running(pid)] == []
    assert _processes_mentioning(str(workdir)) == []
    assert summary["leftovers"] == []  # no network namespace, link, mount or cgroup either
