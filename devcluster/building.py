"""Build the stack's binaries once per version into a cache outside the work tree.

Every Go binary (the Kubernetes multi-call binary, CoreDNS, Prometheus, helm, kwok) is built
from one module, devcluster/go, by one `go build`: minimal version selection picks one version
of each dependency they share (client-go, grpc, protobuf, OpenTelemetry, the Prometheus client
libraries...), so each shared package compiles once instead of once per tool at its own
versions (3,400 packages instead of 5,100). The first build still compiles for many minutes on
2 cores, so it prints progress; later runs find the binaries and take no time. Each artifact
has its own folder, named by what it is built from (a version, and for the Go binaries a hash
of the module's sources), is built under a file lock in a temporary folder and renamed into
place: two builds at once wait for each other instead of racing, and a killed build leaves no
half a binary.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from devcluster import versions

GO_MODULE_DIR = Path(__file__).parent / "go"
K8S_COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
# The main packages built, each binary named by its last element: ours (cmd/), and the others'
# as go.mod's `tool`s, pinned there at the versions of versions.py (a unit test keeps the two in
# step).
GO_BINARIES = (
    "./cmd/k8s",
    "./cmd/coredns",
    "github.com/prometheus/prometheus/cmd/prometheus",
    "helm.sh/helm/v3/cmd/helm",
    "sigs.k8s.io/kwok/cmd/kwok",
)
# Prometheus with its Kubernetes service discovery (Debian's build leaves that out) and no
# other discovery: the real node's pods are found the way a cluster without the Prometheus
# Operator finds them. No other package of the build reads these tags.
GO_TAGS = ("remove_all_sd", "enable_kubernetes_sd")
# No symbol table or DWARF: smaller binaries, shorter links (nobody debugs these here).
GO_LDFLAGS = "-s -w"


def cache_root() -> Path:
    # Outside the clone so that CI's fresh clone on the same machine reuses it; git never sees it.
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codemode-rollout"
    return Path(os.environ.get("CODEMODE_CACHE", default))


def go_sources_key() -> str:
    """A short hash of the Go module's sources: a changed main.go or go.mod rebuilds the binaries."""
    module = GO_MODULE_DIR
    digest = hashlib.sha256()
    for path in sorted(module.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(str(path.relative_to(module)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


def bin_dir() -> Path:
    """The folder holding every Go binary of the pinned versions (put it first on PATH)."""
    return cache_root() / "bin" / f"go-{versions.KUBERNETES}-{go_sources_key()}"


@contextlib.contextmanager
def locked(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing); say so while another holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[{what}] another build holds {path}: waiting for it", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def artifact(folder: str, what: str, build: Callable[[Path], None]) -> Path:
    """`cache/bin/<folder>`, made once by `build(tmp)` in a temporary folder renamed into place."""
    root = cache_root() / "bin"
    final = root / folder
    if final.is_dir():
        return final
    with locked(root / f".{folder}.lock", what):
        if final.is_dir():  # another process built it while we waited
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=root))
        try:
            build(tmp)
            tmp.chmod(0o755)  # mkdtemp's 0700 would hide the binaries from other users
            tmp.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _run_with_progress(label: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run a build, printing a line every 100 packages (`go build -v` prints one a line)."""
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


def _go_env() -> dict[str, str]:
    return dict(os.environ, GOFLAGS="-buildvcs=false", GOTOOLCHAIN="local")


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


def _build_go(tmp: Path) -> None:
    cmd = [
        "go",
        "build",
        "-v",
        f"-tags={','.join(GO_TAGS)}",
        f"-ldflags={GO_LDFLAGS}",
        "-o",
        f"{tmp}{os.sep}",  # a folder: one binary per main package, named by its last element
        *GO_BINARIES,
    ]
    _run_with_progress("go binaries", cmd, GO_MODULE_DIR, _go_env())
    for name in K8S_COMPONENTS:
        (tmp / name).symlink_to("k8s")


def _build_pause(tmp: Path) -> None:
    """The pause container's binary from the pinned Kubernetes module's own source (static)."""
    source = module_dir("k8s.io/kubernetes", versions.KUBERNETES) / "build/pause/linux/pause.c"
    version = f"-DVERSION=v{versions.PAUSE}"
    print(f"[pause {versions.PAUSE}] building {source}", flush=True)
    subprocess.run(
        [
            "cc",
            "-Os",
            "-Wall",
            "-Werror",
            "-static",
            version,
            "-o",
            str(tmp / "pause"),
            str(source),
        ],
        check=True,
    )


def pause_binary() -> Path:
    return (
        artifact(f"pause-{versions.PAUSE}-{versions.KUBERNETES}", "pause", _build_pause) / "pause"
    )


def build_all() -> Path:
    """Ensure every Go binary exists; return their folder."""
    return artifact(bin_dir().name, "go binaries", _build_go)


def coredns_binary() -> Path:
    """The cluster DNS of a real node (devcluster/go/cmd/coredns: the plugins it needs)."""
    return build_all() / "coredns"


def prometheus_binary() -> Path:
    """Prometheus with kubernetes_sd_configs (GO_TAGS)."""
    return build_all() / "prometheus"
