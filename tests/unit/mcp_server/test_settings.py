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


def test_a_flag_replaces_the_same_setting_of_the_file(tmp_path: Path) -> None:
    # camelCase in the file, snake_case from the flag: one setting, the flag's value.
    (tmp_path / "config.yaml").write_text("backendUrl: http://file\nkeepAliveSeconds: 30\n")
    args = ["--config-dir", str(tmp_path), "--backend-url", "http://flag"]
    settings = Settings.load(parse_overrides(args))
    assert (settings.backend_url, settings.keep_alive_seconds) == ("http://flag", 30)


def test_environment_variables_are_read(monkeypatch: object, tmp_path: Path) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setenv("CODEMODE_ALLOWED_HOSTS", "mcp.example.com,127.0.0.1:*")
    monkeypatch.setenv("CODEMODE_CONFIG_DIR", str(tmp_path))
    settings = Settings.load(parse_overrides([]))
    assert settings.allowed_hosts == ["mcp.example.com", "127.0.0.1:*"]
    assert settings.config_dir == tmp_path


def test_the_one_openapi_document_in_the_folder_is_found_whatever_its_name(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.yaml").write_text("backendUrl: http://backend\n")
    (tmp_path / "..data").mkdir()  # a ConfigMap mount's bookkeeping is not a candidate
    (tmp_path / "coolify-openapi.yaml").write_text("openapi: 3.1.0\npaths: {}\n")
    assert Settings.load({"config_dir": str(tmp_path)}).spec_path == (
        tmp_path / "coolify-openapi.yaml"
    )
    # A YAML file that is not OpenAPI does not make it ambiguous.
    (tmp_path / "values.yml").write_text("replicas: 2\n")
    assert Settings.load({"config_dir": str(tmp_path)}).spec_path.name == "coolify-openapi.yaml"


def test_no_or_several_documents_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from mcp_server.openapi.loading import SpecError

    (tmp_path / "config.yaml").write_text("mode: v1\n")
    with pytest.raises(SpecError, match=r"no OpenAPI document \(\*\.json, \*\.yaml, \*\.yml\) in"):
        _ = Settings.load({"config_dir": str(tmp_path)}).spec_path
    (tmp_path / "a.json").write_text('{"openapi":"3.0.3","paths":{}}')
    (tmp_path / "b-openapi.yml").write_text("swagger: '2.0'\npaths: {}\n")
    with pytest.raises(
        SpecError,
        match=r"several OpenAPI documents in .* \(a\.json, b-openapi\.yml\); set specFile",
    ):
        _ = Settings.load({"config_dir": str(tmp_path)}).spec_path
    assert Settings.load({"config_dir": str(tmp_path), "spec_file": "a.json"}).spec_path == (
        tmp_path / "a.json"
    )
