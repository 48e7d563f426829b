"""The MCP chart's ConfigMap and flags start the real v1 server, Host checks included."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from devcluster.processes import free_port, spawn, wait_until
from tests.charts import MCP_CHART, of_kind, template

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "chart-test", "version": "0"},
    },
}


def test_v1_serves_from_the_chart_config(tmp_path: Path) -> None:
    manifest = template(MCP_CHART, "codemode-mcp", "mcp")
    config = tmp_path / "createos"
    config.mkdir()
    for name, text in next(of_kind(manifest, "ConfigMap"))["data"].items():
        (config / name).write_text(text)
    v1 = next(d for d in of_kind(manifest, "Deployment") if d["metadata"]["name"].endswith("-v1"))
    args = v1["spec"]["template"]["spec"]["containers"][0]["args"]
    port = free_port()
    # The chart's flags, then the pod's mount and address moved to this machine's loopback.
    local = [f"--config-dir={config}", "--host=127.0.0.1", f"--port={port}"]
    server = spawn("mcp-v1", [sys.executable, "-m", "mcp_server", *args, *local], tmp_path / "logs")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            "mcp v1 ready",
            lambda: httpx.get(f"{base}/readyz", timeout=2).status_code == 200,
            60,
            alive=server.ensure_running,
        )
        headers = {"Accept": "application/json, text/event-stream"}
        cases = [
            ("codemode-mcp-v1.mcp.svc:80", 200),
            ("codemode-mcp-v1", 200),  # port 80: a client sends no port
            ("attacker.example:80", 421),
            ("attacker.example", 421),
        ]
        for host, status in cases:
            answer = httpx.post(
                f"{base}/mcp", json=INITIALIZE, headers={**headers, "Host": host}, timeout=10
            )
            assert answer.status_code == status, (host, answer.text)
    finally:
        server.stop()
