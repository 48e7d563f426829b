"""The SRE tools as real processes: against the MCP stack, and as a kubectl plugin.

The MCP processes and the operator come from the other suites' fixtures, imported (not copied).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from devcluster.cluster import ControlPlane
from devcluster.mcp_servers import Server
from tests.integration.mcp_server.conftest import set_faults, stack  # noqa: F401
from tests.integration.operator.conftest import (  # noqa: F401
    exporter,
    operator,
    prometheus_for_test,
    rollout_crds,
)

VENV_BIN = Path(sys.executable).parent
RUN_TIMEOUT = 300


def run_tool(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A console script of the venv, as a Job or a person would run it; bounded in time."""
    return subprocess.run(
        [str(VENV_BIN / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=env,
    )


def summary(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The `--json` summary (the last stdout line), with the run's stderr on a failed parse."""
    lines = done.stdout.strip().splitlines()
    assert lines, f"no summary; rc={done.returncode} stderr={done.stderr}"
    return json.loads(lines[-1])


@contextmanager
def with_faults(backend: Server, **faults: Any) -> Iterator[None]:
    """The backend misbehaves inside the block and is healthy again after it."""
    asyncio.run(set_faults(backend, **faults))
    try:
        yield
    finally:
        asyncio.run(set_faults(backend))


def plugin_command(control_plane: ControlPlane, *args: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of `kubectl codemode ARGS` (kubectl finds it on PATH)."""
    env = dict(control_plane.env, PATH=f"{VENV_BIN}{os.pathsep}{control_plane.env['PATH']}")
    return [str(control_plane.bin_dir / "kubectl"), "codemode", *args], env


@pytest.fixture
def kubectl_codemode(
    control_plane: ControlPlane,
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`kubectl codemode ...` through the real kubectl, which finds the plugin on PATH."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command, env = plugin_command(control_plane, *args)
        return subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)

    return run
