"""Settings: command line/environment over the mounted `config.yaml` over defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel

from mcp_server.openapi.loading import find_spec

CONFIG_FILE = "config.yaml"


class Settings(BaseModel):
    # config.yaml may spell keys camelCase (Kubernetes style) or snake_case.
    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel)

    mode: Literal["v1", "v2"] = "v2"
    config_dir: Path = Path("/etc/createos")
    spec_file: str | None = Field(None, description="spec file name in config_dir (autodetected)")
    backend_url: str | None = Field(None, description="overrides the spec's first server URL")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    proxy_host: str = Field("127.0.0.1", description="the api-proxy's listener: the sandbox's only")
    proxy_port: int = Field(8091, ge=1, le=65535)
    sandbox_url: str = "http://127.0.0.1:8090"
    # A gateway reuses an idle upstream connection until its own idle timeout (Traefik: 90 s);
    # if the server closed it first, a request sent at that moment gets the gateway's 502. The
    # gateway's must be the shorter one (docs/mcp_server.md says why it is not raised here).
    keep_alive_seconds: int = Field(
        5, ge=1, description="idle connections are kept this long (uvicorn's default)"
    )
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1:*", "localhost:*"])
    allowed_origins: list[str] = Field(default_factory=list)
    forward_headers: list[str] = Field(
        default_factory=lambda: ["authorization"],
        description="headers of the MCP request forwarded to the backend as the user's credentials",
    )
    natives: list[str] = Field(default_factory=list, description="operations exposed as tools")
    soft_wait_seconds: float = 25.0
    execution_timeout_seconds: float = 600.0
    max_api_calls: int = 50
    max_poll_calls: int = Field(600, description="repeated reads of one resource per execution")
    poll_interval_seconds: float = Field(1.0, description="repeated reads are paced to one per")
    max_jobs: int = 100
    job_ttl_seconds: float = 3600.0
    job_store_url: str | None = Field(
        None, description="redis:// URL of the job store the replicas share (None: in-process)"
    )
    session_key: SecretStr | None = Field(
        None, description="HMAC key of session ids, version cookies and job ids (per Deployment)"
    )
    max_proxy_body_bytes: int = Field(1_000_000, description="largest api-proxy call body")
    max_result_bytes: int = 64_000
    max_log_bytes: int = 16_000
    search_limit: int = 5
    type_check: bool = Field(False, description="tsc-check the code before it runs (slow)")
    tsc_path: str | None = Field(None, description="TypeScript's tsc (default: on PATH)")
    backend_timeout_seconds: float = 30.0

    @model_validator(mode="after")
    def _listeners_apart(self) -> Settings:
        if self.proxy_port == self.port:
            raise ValueError(f"proxyPort and port must differ (both {self.port})")
        return self

    @property
    def spec_path(self) -> Path:
        """`specFile`, else the one OpenAPI document in the folder (SpecError if none/several)."""
        if self.spec_file:
            return self.config_dir / self.spec_file
        return find_spec(self.config_dir, ignore=(CONFIG_FILE,))

    @classmethod
    def load(cls, overrides: dict[str, Any]) -> Settings:
        """`overrides` (flags/env, None meaning unset) win over `config_dir/config.yaml`."""
        given = {key: value for key, value in overrides.items() if value is not None}
        config_dir = Path(given.get("config_dir", cls.model_fields["config_dir"].default))
        config_path = config_dir / CONFIG_FILE
        from_file: dict[str, Any] = {}
        if config_path.exists():
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{config_path} must be a mapping")
            # The file's camelCase keys named by field, so a flag given too replaces its key
            # instead of standing beside it (pydantic would refuse the pair as extra input).
            names = {to_camel(name): name for name in cls.model_fields}
            from_file = {names.get(str(key), str(key)): value for key, value in loaded.items()}
        return cls.model_validate({**from_file, **given})
