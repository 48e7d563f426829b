from __future__ import annotations

from pathlib import Path

from mcp_server.__main__ import parse_overrides
from mcp_server.settings import Settings


def test_flags_win_over_config_file_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "backendUrl: http://backend\nnatives: [getProject]\nsoftWaitSeconds: 3\nmode: v1\n"
    )
    (tmp_path / "openapi.yaml").write_text("paths: {}\n")
    overrides = parse_overrides(["--config-dir", str(tmp_path), "--mode", "v2"])
    settings = Settings.load(overrides)
    assert settings.mode == "v2"
    assert settings.backend_url == "http://backend"
    assert settings.natives == ["getProject"]
    assert settings.soft_wait_seconds == 3
    assert settings.execution_timeout_seconds == 600
    assert settings.spec_path == tmp_path / "openapi.yaml"


def test_environment_variables_are_read(monkeypatch: object, tmp_path: Path) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("CODEMODE_ALLOWED_HOSTS", "mcp.example.com,127.0.0.1:*")
    monkeypatch.setenv("CODEMODE_CONFIG_DIR", str(tmp_path))
    settings = Settings.load(parse_overrides([]))
    assert settings.allowed_hosts == ["mcp.example.com", "127.0.0.1:*"]
    assert settings.config_dir == tmp_path
