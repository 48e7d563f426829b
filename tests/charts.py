"""The two Helm charts, rendered and linted with the pinned helm binary (devcluster builds it)."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from devcluster import building

REPO = Path(__file__).resolve().parent.parent
OPERATOR_CHART = REPO / "charts" / "codemode-operator"
MCP_CHART = REPO / "charts" / "codemode-mcp"
CHARTS = (OPERATOR_CHART, MCP_CHART)


def example_values(chart: Path) -> list[Path]:
    """The committed non-trivial values files of a chart (`ci/*.yaml`)."""
    return sorted((chart / "ci").glob("*.yaml"))


def helm(
    *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [str(building.build_all() / "helm"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"helm {shlex.join(args)} failed: {out.stdout}{out.stderr}")
    return out


def template(chart: Path, release: str, namespace: str, *args: str) -> str:
    return helm("template", release, str(chart), "--namespace", namespace, *args).stdout


def objects(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def of_kind(manifest: str, kind: str) -> Iterator[dict[str, Any]]:
    return (o for o in objects(manifest) if o["kind"] == kind)
