"""Build the control-plane binaries once per version into a cache outside the work tree.

The first build compiles a few thousand Go packages (many minutes on 2 cores), so it prints
progress; later runs find the binaries by version and take no time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from devcluster import versions

GO_MODULE_DIR = Path(__file__).parent / "go"
K8S_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")


def cache_root() -> Path:
    # Outside the clone so that CI's fresh clone on the same machine reuses it; git never sees it.
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codemode-rollout"
    return Path(os.environ.get("CODEMODE_CACHE", default))


def bin_dir() -> Path:
    """The folder holding every binary of the pinned versions (put it first on PATH)."""
    return (
        cache_root()
        / "bin"
        / f"k8s-{versions.KUBERNETES}-kwok-{versions.KWOK}-helm-{versions.HELM}"
    )


def _run_with_progress(label: str, cmd: list[str], cwd: Path | None, env: dict[str, str]) -> None:
    """Run `go build -v`/`go install -v`, printing a line every 100 compiled packages."""
    started = time.monotonic()
    print(f"[{label}] building: {' '.join(cmd)}", flush=True)
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    tail: list[str] = []
    for count, line in enumerate(proc.stdout, start=1):
        tail = [*tail[-40:], line.rstrip()]
        if count % 100 == 0:
            elapsed = time.monotonic() - started
            print(f"[{label}] {count} packages compiled, {elapsed:.0f}s", flush=True)
    if proc.wait() != 0:
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"[{label}] build failed (exit {proc.returncode})")
    print(f"[{label}] done in {time.monotonic() - started:.0f}s", flush=True)


def _go_env(gobin: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, GOFLAGS="-buildvcs=false", GOTOOLCHAIN="local")
    if gobin is not None:
        env["GOBIN"] = str(gobin)
    return env


def module_dir(module: str, version: str) -> Path:
    """Where the Go module cache holds `module@version` (downloaded if missing)."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        check=True,
        capture_output=True,
        text=True,
        env=_go_env(),
    )
    return Path(json.loads(out.stdout)["Dir"])


def build_all() -> Path:
    """Ensure every binary exists; return the folder that holds them."""
    target = bin_dir()
    target.mkdir(parents=True, exist_ok=True)
    if not (target / "k8s").exists():
        tmp = target / "k8s.partial"
        cmd = ["go", "build", "-v", "-o", str(tmp), "./cmd/k8s"]
        _run_with_progress(f"kubernetes {versions.KUBERNETES}", cmd, GO_MODULE_DIR, _go_env())
        tmp.rename(target / "k8s")
    for name in K8S_COMPONENTS:
        link = target / name
        if not link.exists():
            link.symlink_to("k8s")
    for name, package, version in (
        ("kwok", "sigs.k8s.io/kwok/cmd/kwok", versions.KWOK),
        ("helm", "helm.sh/helm/v3/cmd/helm", versions.HELM),
    ):
        if not (target / name).exists():
            staging = target / f".{name}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            cmd = ["go", "install", "-v", f"{package}@{version}"]
            _run_with_progress(f"{name} {version}", cmd, None, _go_env(staging))
            (staging / name).rename(target / name)
            shutil.rmtree(staging)
    return target
