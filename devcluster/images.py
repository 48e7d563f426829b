"""`make images`: the project's three images from images/Dockerfile, built on this machine.

No image registry is reachable here, so the Dockerfile's base (a build argument whose default
stays the public `python` image) is made from Debian's packages with mmdebstrap, the Python
wheels are built on the host (`pip wheel`) and installed offline, and buildah builds each
target with no network inside the build. Every step is cached under the cache root, keyed by
what it is built from: an unchanged tree rebuilds nothing.

The real node pulls the images from a registry (devcluster/registry.py) whose storage is made
here once per set of images, under the names the charts' values use.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

from devcluster import building, registry, versions

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "images" / "Dockerfile"
IGNOREFILE = REPO / "images" / "Dockerfile.dockerignore"
CONTEXT = (
    "pyproject.toml",
    "operator/codemode_operator",
    "mcp_server",
    "sandbox_runner",
    "codemode_cli",
)
TARGETS = ("operator", "mcp", "sandbox")
# What the images need from Debian: Python with venv (the Dockerfile's `python -m venv`) and
# the `python` name the public image has, the C++ runtime of numpy's wheel (search). Deno comes
# from its PyPI wheel.
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "libgcc-s1", "libstdc++6")
BASE_SUITE = "bookworm"  # the public base image's Debian release
# The MCP chart's job store runs the public `redis` image; bookworm's redis-server is the same
# release (the chart's tag), so the node gets an image of that name made from Debian's package.
JOBSTORE_PACKAGES = ("redis-server",)
PAUSE_IMAGE = f"registry.k8s.io/pause:{versions.PAUSE}"


def _jobstore_names() -> tuple[str, ...]:
    """The chart's default job store image, as a path in the docker.io mirror."""
    values = yaml.safe_load((REPO / "charts/codemode-mcp/values.yaml").read_text())
    image = values["jobStore"]["image"]
    return (f"{image['repository'].removeprefix('docker.io/')}:{image['tag']}",)


# The repositories the charts name (defaults, and the example cluster values), each mirrored
# by the node's containerd to the local registry. Tags: the chart's appVersion, and 0.2.0 (the
# example values' v2 release: the same code, run with --mode=v2).
PUBLISH = {
    "operator": ("codemode-rollout/codemode-operator:0.1.0",),
    "mcp": (
        "codemode-rollout/codemode-mcp:0.1.0",
        "platform/codemode-mcp:0.1.0",
        "platform/codemode-mcp:0.2.0",
    ),
    "sandbox": (
        "codemode-rollout/codemode-sandbox:0.1.0",
        "platform/codemode-sandbox:0.1.0",
        "platform/codemode-sandbox:0.2.0",
    ),
    "jobstore": _jobstore_names(),
}
MIRRORED_REGISTRIES = ("registry.k8s.io", "ghcr.io", "registry.example.com", "docker.io")


def _digest(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def _tree_digest(paths: Iterable[Path]) -> str:
    files: list[bytes | str] = []
    for root in paths:
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files += [str(path.relative_to(REPO)), path.read_bytes()]
    return _digest(*files)


def _storage_flags() -> list[str]:
    root = building.cache_root() / "containers"
    return [
        "--root",
        str(root / "storage"),
        "--runroot",
        str(root / "run"),
        "--storage-driver",
        "overlay",
    ]


def buildah(*args: str, capture: bool = False) -> str:
    out = subprocess.run(
        ["buildah", *_storage_flags(), *args],
        capture_output=capture,
        text=True,
        check=False,
        timeout=1800,
    )
    if out.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)} failed (exit {out.returncode}): {out.stderr}")
    return out.stdout or ""


def _has_image(name: str) -> bool:
    out = subprocess.run(
        ["buildah", *_storage_flags(), "images", "--quiet", name], capture_output=True, text=True
    )
    return out.returncode == 0 and bool(out.stdout.strip())


def _from_scratch(name: str, add: list[str], config: list[str]) -> None:
    """An image of one layer: `buildah add|copy` into an empty container, configured, committed."""
    container = buildah("from", "scratch", capture=True).strip()
    try:
        buildah(add[0], container, *add[1:])
        buildah(*config, container)
        buildah("commit", "--quiet", "--rm", container, name)
    except BaseException:
        buildah("rm", container)
        raise


def _timed(label: str, started: float) -> None:
    print(f"[images] {label} in {time.monotonic() - started:.0f}s", flush=True)


def _debian_image(label: str, packages: Sequence[str], config: list[str]) -> str:
    """An image of Debian's `packages` made by mmdebstrap (no registry needed), built once."""
    name = f"localhost/codemode-{label}:{BASE_SUITE}-{_digest(BASE_SUITE, *packages)}"
    lock = building.cache_root() / "containers" / f".{label}.lock"
    with building.locked(lock, f"{label} image"):
        if _has_image(name):
            return name
        started = time.monotonic()
        print(f"[images] mmdebstrap {BASE_SUITE} with {', '.join(packages)}", flush=True)
        work = building.cache_root() / "containers" / f"{label}.partial"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        rootfs = work / "rootfs.tar"
        # The host's own apt sources: the packages come from where this machine gets them.
        subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=essential",
                f"--include={','.join(packages)}",
                "--dpkgopt=path-exclude=/usr/share/doc/*",
                "--dpkgopt=path-exclude=/usr/share/man/*",
                "--dpkgopt=path-exclude=/usr/share/locale/*",
                BASE_SUITE,
                str(rootfs),
                "/etc/apt/sources.list.d/debian.sources",
            ],
            check=True,
            timeout=1200,
        )
        _from_scratch(name, ["add", str(rootfs), "/"], ["config", *config])
        shutil.rmtree(work)
        _timed(f"{label} image {name}", started)
    return name


def base_image() -> str:
    """Debian's Python, as a local image (the Dockerfile's BASE argument)."""
    return _debian_image("base", BASE_PACKAGES, ["--cmd", "python3", "--env", "LANG=C.UTF-8"])


def jobstore_image() -> str:
    """Debian's redis-server: the chart passes `redis-server ...` as the container's args."""
    return _debian_image("jobstore", JOBSTORE_PACKAGES, ["--cmd", "redis-server"])


def _image_python() -> str:
    """The base image's Python version (Debian's `python3` package, e.g. 3.11.2)."""
    shown = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", "python3"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    version = next(line.split()[1] for line in shown.splitlines() if line.startswith("Version:"))
    return version.split(":")[-1].split("-")[0]


def _for_image_only(requirements: Iterable[str], python: str) -> set[str]:
    """Dependencies that the image's Python needs and this one's markers leave out (redis needs
    async-timeout below 3.11.3): `pip wheel` resolves markers for the Python it runs on."""
    here = {**{k: str(v) for k, v in default_environment().items()}, "extra": ""}
    image = {**here, "python_full_version": python, "python_version": python.rsplit(".", 1)[0]}
    needed: set[str] = set()
    todo, seen = [Requirement(r) for r in requirements], set()
    while todo:
        requirement = todo.pop()
        if requirement.name in seen:
            continue
        seen.add(requirement.name)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for dependency in map(Requirement, requires):
            marker = dependency.marker
            if marker is None or marker.evaluate(here):
                todo.append(dependency)
            elif marker.evaluate(image):
                needed.add(f"{dependency.name}{dependency.specifier}")
    return needed


def _requirements() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    build = project["build-system"]["requires"]
    dockerfile_pip = "pip==25.3"  # the Dockerfile pins the pip it installs into /venv
    pinned = {*project["project"]["dependencies"], *build, dockerfile_pip}
    return sorted(pinned | _for_image_only(project["project"]["dependencies"], _image_python()))


def wheels() -> Path:
    """Every wheel the images install, built once on the host (the build has no network)."""
    requirements = _requirements()

    def build(tmp: Path) -> None:
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--wheel-dir",
                str(tmp),
                *requirements,
            ],
            check=True,
            timeout=1200,
        )
        _timed(f"{len(list(tmp.glob('*.whl')))} wheels", started)

    return building.artifact(f"wheels-{_digest(*requirements)}", "wheels", build)


@dataclass(frozen=True)
class Built:
    target: str
    image: str  # the local name in buildah's storage


def build_targets() -> list[Built]:
    """The Dockerfile's three targets and the job store; each skipped when its inputs did not change."""
    base = base_image()
    wheel_dir = wheels()
    key = _digest(
        base,
        wheel_dir.name,
        DOCKERFILE.read_bytes(),
        IGNOREFILE.read_bytes(),
        _tree_digest(REPO / p for p in CONTEXT),
    )
    built = []
    with building.locked(building.cache_root() / "containers" / ".targets.lock", "images"):
        for target in TARGETS:
            image = f"localhost/codemode-{target}:{key}"
            if not _has_image(image):
                started = time.monotonic()
                buildah(
                    "bud",
                    "--quiet",
                    "--layers",
                    "--network=none",
                    f"--file={DOCKERFILE}",
                    f"--ignorefile={IGNOREFILE}",
                    f"--target={target}",
                    f"--build-arg=BASE={base}",
                    "--build-arg=PIP_NO_INDEX=1",
                    "--build-arg=PIP_FIND_LINKS=/wheels",
                    f"--volume={wheel_dir}:/wheels:ro",
                    f"--tag={image}",
                    str(REPO),
                )
                _timed(f"{target} image {image}", started)
            built.append(Built(target, image))
    return [*built, Built("jobstore", jobstore_image())]


def pause_image() -> str:
    """registry.k8s.io/pause from the pinned Kubernetes source's pause.c, as a local image."""
    binary = building.pause_binary()
    name = f"localhost/pause:{versions.PAUSE}-{_digest(binary.read_bytes())}"
    with building.locked(building.cache_root() / "containers" / ".pause.lock", "pause image"):
        if not _has_image(name):
            _from_scratch(
                name,
                ["copy", str(binary), "/pause"],
                ["config", "--entrypoint", '["/pause"]', "--user", "65535:65535"],
            )
    return name


def registry_storage(built: list[Built] | None = None) -> Path:
    """A registry's storage holding the pause image and the project's images under every name
    the charts use (cache/bin/registry-<key>); pushed once per set of images."""
    pushes = [(pause_image(), PAUSE_IMAGE.split("/", 1)[1])]
    for item in built or []:
        pushes += [(item.image, name) for name in PUBLISH[item.target]]
    key = _digest(*(f"{image}={name}" for image, name in pushes))

    def push(tmp: Path) -> None:
        started = time.monotonic()
        server = registry.start(tmp / "storage", tmp / "server", readonly=False)
        try:
            for image, name in pushes:
                buildah(
                    "push",
                    "--quiet",
                    "--tls-verify=false",
                    image,
                    f"docker://{server.address}/{name}",
                )
        finally:
            server.stop()
        shutil.rmtree(tmp / "server")
        _timed(f"pushed {len(pushes)} names into the registry storage", started)

    return building.artifact(f"registry-{key}", "registry", push) / "storage"


def build_all() -> Path:
    """`make images`: build what changed; the registry storage the node serves."""
    return registry_storage(build_targets())
