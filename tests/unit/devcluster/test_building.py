"""The binary cache: keyed by the Go sources, one build at a time per artifact, atomic."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from devcluster import building, versions


def _slow_build(tmp: Path) -> None:
    with (tmp.parent / "builds.log").open("a") as log:
        log.write("build\n")
    time.sleep(0.5)  # long enough for the other process to find the lock taken
    (tmp / "tool").write_text("done")


def _build_in_child(cache: str, queue: multiprocessing.Queue[str]) -> None:
    import os

    os.environ["CODEMODE_CACHE"] = cache
    queue.put(str(building.artifact("tool-v1", "tool", _slow_build) / "tool"))


def test_two_concurrent_builds_of_one_artifact_build_it_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    children = [ctx.Process(target=_build_in_child, args=(str(tmp_path), queue)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    paths = {queue.get(timeout=5), queue.get(timeout=5)}
    assert paths == {str(tmp_path / "bin" / "tool-v1" / "tool")}
    assert Path(paths.pop()).read_text() == "done"
    assert (tmp_path / "bin" / "builds.log").read_text() == "build\n"
    leftovers = [p.name for p in (tmp_path / "bin").iterdir() if p.name.startswith(".tool-v1.")]
    assert leftovers == [".tool-v1.lock"]


def test_a_failed_build_leaves_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEMODE_CACHE", str(tmp_path))

    def broken(tmp: Path) -> None:
        (tmp / "half").write_text("")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError, match="compiler crashed"):
        building.artifact("tool-v2", "tool", broken)
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == [".tool-v2.lock"]


def test_the_cache_key_follows_the_go_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = tmp_path / "go"
    (module / "cmd" / "k8s").mkdir(parents=True)
    (module / "go.mod").write_text("module x\n")
    (module / "cmd" / "k8s" / "main.go").write_text("package main\n")
    monkeypatch.setattr(building, "GO_MODULE_DIR", module)
    before = building.go_sources_key()
    (module / "cmd" / "k8s" / "main.go").write_text("package main // kubelet too\n")
    assert building.go_sources_key() != before
    assert building.bin_dir().name == f"go-{versions.KUBERNETES}-{building.go_sources_key()}"
