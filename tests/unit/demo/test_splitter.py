"""The demo's nginx config follows the HTTPRoute's weights; nginx itself checks the config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from demo.splitter import NGINX, nginx_config, route_weights, v2_share

UPSTREAMS = {"mcp-v1": 40001, "mcp-v2": 40002}


def _route(*refs: dict[str, object]) -> dict[str, object]:
    return {"spec": {"rules": [{"backendRefs": list(refs)}]}}


def test_route_weights_per_service_with_gateway_api_default_of_one() -> None:
    route = _route({"name": "mcp-v1", "weight": 75}, {"name": "mcp-v2"})
    assert route_weights(route) == {"mcp-v1": 75, "mcp-v2": 1}
    assert v2_share({"mcp-v1": 75, "mcp-v2": 25}) == 25
    assert v2_share({}) == 0


def test_a_zero_weight_is_down_because_nginx_refuses_weight_zero(tmp_path: Path) -> None:
    config = nginx_config(tmp_path, 40000, UPSTREAMS, {"mcp-v1": 100, "mcp-v2": 0})
    assert "server 127.0.0.1:40001 weight=100 max_fails=0;" in config
    assert "server 127.0.0.1:40002 down max_fails=0;" in config
    assert "listen 127.0.0.1:40000;" in config


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx-light is installed by `make deps`")
@pytest.mark.parametrize("weights", [{"mcp-v1": 95, "mcp-v2": 5}, {"mcp-v1": 0, "mcp-v2": 100}])
def test_nginx_accepts_the_config(tmp_path: Path, weights: dict[str, int]) -> None:
    for folder in ("logs", "temp"):  # as Splitter.start() prepares the prefix
        (tmp_path / folder).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config(tmp_path, 40000, UPSTREAMS, weights))
    check = subprocess.run(
        [NGINX, "-t", "-p", f"{tmp_path}/", "-c", str(conf), "-e", "logs/error.log"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
