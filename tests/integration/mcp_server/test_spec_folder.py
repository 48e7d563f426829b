"""The config folder as a chart or a person mounts it: the spec is found whatever its name."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devcluster.mcp_servers import mcp_server_process
from devcluster.specs import REAL_SPECS, REPO
from tests.integration.mcp_server.conftest import http_get

pytestmark = pytest.mark.slow


async def test_a_folder_with_one_named_openapi_yaml_starts(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    shutil.copy(REAL_SPECS / "koyeb-openapi.yaml", folder / "koyeb-openapi.yaml")
    (folder / "config.yaml").write_text("backendUrl: http://127.0.0.1:9\n")
    server = mcp_server_process(tmp_path, "mcp-koyeb", "v1", folder, "http://127.0.0.1:9")
    try:
        server.start()
        ready = await http_get(f"{server.url}/readyz")
    finally:
        server.stop()
    assert ready.status_code == 200 and ready.json()["spec"] == 133


def test_a_folder_without_a_spec_stops_with_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("mode: v1\n")
    done = subprocess.run(
        [sys.executable, "-m", "mcp_server", "--config-dir", str(tmp_path), "--port", "9"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"no OpenAPI document (*.json, *.yaml, *.yml) in {tmp_path}" in done.stderr
