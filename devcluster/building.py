"""Build the stack's binaries once per version into a cache outside the work tree.

The first build compiles a few thousand Go packages (many minutes on 2 cores), so it prints
progress; later runs find the binaries and take no time. Each artifact has its own folder,
named by what it is built from (a version, and for the multi-call binary a hash of the Go
sources), is built under a file lock in a temporary folder and renamed into place: two builds
at once wait for each other instead of racing, and a killed build leaves no half a binary.
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
COREDNS_MODULE_DIR = Path(__file__).parent / "coredns"  # its own module: its own dependencies
K8S_COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
GO_INSTALLS = (
    ("kwok", "sigs.k8s.io/kwok/cmd/kwok", versions.KWOK),
    ("helm", "helm.sh/helm/v3/cmd/helm", versions.HELM),
)


def cache_root() -> Path:
    # Outside the clone so that CI's fresh clone on the same machine reuses it; git never sees it.
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "codemode-rollout"
    return Path(os.environ.get("CODEMODE_CACHE", default))


def go_sources_key(module: Path | None = None) -> str:
    """A short hash of a Go module's sources: a changed main.go or go.mod rebuilds its binary."""
    module = module or GO_MODULE_DIR
    digest = hashlib.sha256()
    for path in sorted(module.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(str(path.relative_to(module)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


def _k8s_folder() -> str:
    return f"k8s-{versions.KUBERNETES}-{go_sources_key()}"


def bin_dir() -> Path:
    """The folder holding (links to) every binary of the pinned versions (put it first on PATH)."""
    kwok, helm = (f"{name}-{version}" for name, _, version in GO_INSTALLS)
    return cache_root() / "bin" / f"{_k8s_folder()}-{kwok}-{helm}"


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


def _run_with_progress(label: str, cmd: list[str], cwd: Path | None, env: dict[str, str]) -> None:
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


def go_install(name: str, package: str, version: str, tags: tuple[str, ...] = ()) -> Path:
    """`go install package@version` into its own cached folder; the path of the binary."""

    def build(tmp: Path) -> None:
        cmd = [
            "go",
            "install",
            "-v",
            *([f"-tags={','.join(tags)}"] if tags else []),
            f"{package}@{version}",
        ]
        _run_with_progress(f"{name} {version}", cmd, None, _go_env(tmp))

    folder = f"{name}-{version}" + (f"-{'-'.join(tags)}" if tags else "")
    return artifact(folder, name, build) / name


def prometheus_binary() -> Path:
    """Prometheus with its Kubernetes service discovery (Debian's build leaves that out), and
    no other discovery: the real node's pods are found the way a cluster without the
    Prometheus Operator finds them."""
    return go_install(
        "prometheus",
        "github.com/prometheus/prometheus/cmd/prometheus",
        versions.PROMETHEUS,
        ("remove_all_sd", "enable_kubernetes_sd"),
    )


def _build_k8s(tmp: Path) -> None:
    cmd = ["go", "build", "-v", "-o", str(tmp / "k8s"), "./cmd/k8s"]
    _run_with_progress(f"kubernetes {versions.KUBERNETES}", cmd, GO_MODULE_DIR, _go_env())
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


def coredns_binary() -> Path:
    """The cluster DNS of a real node (devcluster/coredns: CoreDNS with the plugins it needs)."""

    def build(tmp: Path) -> None:
        cmd = ["go", "build", "-v", "-o", str(tmp / "coredns"), "."]
        _run_with_progress(f"coredns {versions.COREDNS}", cmd, COREDNS_MODULE_DIR, _go_env())

    folder = f"coredns-{versions.COREDNS}-{go_sources_key(COREDNS_MODULE_DIR)}"
    return artifact(folder, "coredns", build) / "coredns"


def build_all() -> Path:
    """Ensure every binary exists; return the folder that links them all."""
    k8s = artifact(_k8s_folder(), "kubernetes", _build_k8s)
    binaries = {name: k8s / name for name in K8S_COMPONENTS}
    binaries.update({name: go_install(name, pkg, version) for name, pkg, version in GO_INSTALLS})

    def link(tmp: Path) -> None:
        for name, target in binaries.items():
            (tmp / name).symlink_to(target)

    return artifact(bin_dir().name, "binaries", link)
