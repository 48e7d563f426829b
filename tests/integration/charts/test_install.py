"""The README's install commands, run verbatim against the local control plane."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from devcluster.cluster import ControlPlane
from devcluster.install_doc import doc_commands, run_doc_commands

RELEASES = {"codemode-operator": "codemode-system", "codemode-mcp": "mcp"}


def test_install_doc_installs_both_charts_with_their_values() -> None:
    assert doc_commands() == [
        [
            "helm",
            "install",
            "codemode-operator",
            "charts/codemode-operator",
            "--namespace",
            "codemode-system",
            "--create-namespace",
        ],
        [
            "helm",
            "install",
            "codemode-mcp",
            "charts/codemode-mcp",
            "--namespace",
            "mcp",
            "--create-namespace",
            "--values",
            "charts/codemode-mcp/ci/cluster-values.yaml",
        ],
        ["kubectl", "get", "cmr", "--namespace", "mcp"],
    ]


@pytest.fixture
def releases(control_plane: ControlPlane, gateway_crds: None) -> Iterator[None]:
    yield
    helm = str(control_plane.bin_dir / "helm")
    for release, namespace in reversed(RELEASES.items()):
        subprocess.run(
            [helm, "uninstall", release, "-n", namespace, "--wait=false"],
            env=control_plane.env,
            capture_output=True,
            timeout=120,
        )
        control_plane.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def test_install_doc_commands_work(control_plane: ControlPlane, releases: None) -> None:
    outputs = run_doc_commands(control_plane.env)
    assert "STATUS: deployed" in outputs[0] and "kubectl get cmr -A" in outputs[0]  # NOTES
    assert "STATUS: deployed" in outputs[1]
    assert outputs[2].split()[:2] == ["NAME", "PHASE"] and "codemode-mcp" in outputs[2]
    sa = "system:serviceaccount:codemode-system:codemode-operator"
    can_i = control_plane.kubectl(
        "auth",
        "can-i",
        "patch",
        "codemoderollouts.codemode.io",
        "-n",
        "mcp",
        f"--as={sa}",
        check=False,
    )
    assert can_i.strip() == "yes"  # the ClusterRole binding works cluster-wide
