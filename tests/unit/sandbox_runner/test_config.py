"""Settings, command-line flags, request validation and the isolate's command line."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from sandbox_runner.__main__ import parse_settings
from sandbox_runner.app import _work_root
from sandbox_runner.isolate import IsolateConfig, _command, _environment, bootstrap_path
from sandbox_runner.schema import ExecutionRequest, describe
from sandbox_runner.settings import Settings


@pytest.mark.parametrize(
    ("url", "host_port"),
    [
        ("http://127.0.0.1:8081", "127.0.0.1:8081"),
        ("http://127.0.0.1:8081/", "127.0.0.1:8081"),
        ("http://proxy.mcp", "proxy.mcp:80"),
        ("https://proxy.mcp", "proxy.mcp:443"),
        ("http://[::1]:9000", "[::1]:9000"),
    ],
)
def test_proxy_host_port(url: str, host_port: str) -> None:
    assert Settings(proxy_url=url).proxy_host_port == host_port


@pytest.mark.parametrize("url", ["ftp://x:1", "127.0.0.1:8081", "http://"])
def test_proxy_url_must_be_http(url: str) -> None:
    with pytest.raises(ValidationError, match="proxy_url"):
        Settings(proxy_url=url)


def test_flags() -> None:
    flags = (
        "--port 9 --proxy-url http://127.0.0.1:7/ --pool-size 3 --max-queue 4"
        " --default-timeout 5 --max-heap-mb 32 --max-output-bytes 2048 --max-api-calls 7"
    )
    settings = parse_settings(flags.split())
    assert settings.host == "127.0.0.1"
    assert (settings.port, settings.proxy_url, settings.pool_size) == (9, "http://127.0.0.1:7", 3)
    assert (settings.max_queue, settings.default_timeout, settings.max_heap_mb) == (4, 5.0, 32)
    assert (settings.max_output_bytes, settings.default_max_api_calls) == (2048, 7)


@pytest.mark.parametrize(
    ("flags", "named"),
    [("--pool-size 0", "pool-size"), ("--proxy-url ftp://x", "proxy-url")],
)
def test_invalid_flag_exits_naming_it(
    flags: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_settings(flags.split())
    assert exited.value.code == 2
    assert named in capsys.readouterr().err


def test_defaults_match_the_brief() -> None:
    settings = parse_settings([])
    assert settings.host == "127.0.0.1"
    assert settings.default_timeout == 600


def test_request_uses_wire_names() -> None:
    request = ExecutionRequest.model_validate(
        {"code": "return 1", "timeoutSeconds": 2, "maxApiCalls": 3}
    )
    assert (request.timeout_seconds, request.max_api_calls, request.language) == (
        2,
        3,
        "typescript",
    )


def test_unknown_fields_are_ignored_for_version_skew() -> None:
    assert ExecutionRequest.model_validate({"code": "1", "newerField": True}).code == "1"


def test_validation_message_names_wire_fields() -> None:
    with pytest.raises(ValidationError) as error:
        ExecutionRequest.model_validate({"code": 5, "timeoutSeconds": 0, "language": "py"})
    message = describe(error.value)
    for field in ("code", "timeoutSeconds", "language"):
        assert field in message


def _config(tmp_path: Path) -> IsolateConfig:
    return IsolateConfig(
        deno_path="deno",
        bootstrap=bootstrap_path(),
        proxy_url="http://127.0.0.1:8081",
        proxy_host_port="127.0.0.1:8081",
        max_heap_mb=64,
        max_rss_bytes=1 << 28,
        max_output_bytes=1 << 16,
        spawn_timeout=5,
        work_root=tmp_path,
    )


def test_isolate_may_only_reach_the_proxy(tmp_path: Path) -> None:
    command = _command(_config(tmp_path))
    allows = [arg for arg in command if arg.startswith("--allow")]
    assert allows == ["--allow-net=127.0.0.1:8081"]
    for flag in ("--no-remote", "--no-npm", "--no-prompt", "--no-config", "--deny-read"):
        assert flag in command
    for denied in ("write", "env", "run", "ffi", "sys"):
        assert f"--deny-{denied}" in command
    assert "--v8-flags=--max-old-space-size=64" in command


def test_launcher_prefixes_the_command(tmp_path: Path) -> None:
    config = _config(tmp_path)
    launched = IsolateConfig(**{**config.__dict__, "launcher": ("setpriv", "--pdeathsig", "KILL")})
    assert _command(launched)[:4] == ["setpriv", "--pdeathsig", "KILL", "deno"]
    assert _command(config)[0] == "deno"


def test_isolate_environment_is_minimal(tmp_path: Path) -> None:
    environment = _environment(tmp_path)
    assert set(environment) == {"DENO_DIR", "HOME", "NO_COLOR", "DENO_NO_UPDATE_CHECK", "PATH"}


def test_bootstrap_imports_no_literal_specifier() -> None:
    # Deno preloads the main module's literal imports without a read check (see the docs).
    source = bootstrap_path().read_text()
    assert not re.search(r"""\bimport\s*\(\s*["'`]""", source)
    assert not re.search(r"""^\s*import\s""", source, re.M)


def test_work_root_sweeps_dead_runners_only(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait(timeout=5)
    stale = tmp_path / f"sandbox-runner-{dead.pid}-abc"
    live = tmp_path / f"sandbox-runner-{os.getpid()}-def"
    other = tmp_path / "unrelated"
    for folder in (stale, live, other):
        (folder / "isolate-x").mkdir(parents=True)
    root = _work_root(str(tmp_path))
    assert root.name.startswith(f"sandbox-runner-{os.getpid()}-")
    assert not stale.exists()
    assert live.exists() and other.exists()
