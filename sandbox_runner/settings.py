"""Runner configuration, validated once at start-up."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DEFAULT_PORTS = {"http": 80, "https": 443}


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535)
    proxy_url: str = "http://127.0.0.1:8091"  # mcp_server's api-proxy listener
    pool_size: int = Field(default=4, ge=1, le=256)
    # A burst of 50 trivial executes on 2 cores queues ~46 of them for several seconds
    # (benchmarks/bench_sandbox.py --burst): waiting is cheap, a 503 is an infra error.
    max_queue: int = Field(default=256, ge=0)
    queue_timeout: float = Field(default=60.0, gt=0)
    default_timeout: float = Field(default=600.0, gt=0)
    max_timeout: float = Field(default=3600.0, gt=0)
    max_heap_mb: int = Field(default=256, ge=16)
    max_rss_mb: int = Field(default=768, ge=64)
    max_output_bytes: int = Field(default=256 * 1024, ge=1024)
    default_max_api_calls: int = Field(default=50, ge=0)
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    spawn_timeout: float = Field(default=30.0, gt=0)
    # No CPU used for this long, and not waiting in sleep() either: the code waits on nothing it
    # will ever get (a timer that never fires, a promise kept alive) and gives its slot back.
    idle_timeout: float = Field(default=120.0, gt=0)
    shutdown_grace: float = Field(default=30.0, ge=0)  # then running executions are killed
    deno_path: str | None = None
    work_dir: str | None = None  # parent of the per-process directories; default: /dev/shm

    @field_validator("proxy_url")
    @classmethod
    def _proxy_url_is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError("proxy_url must be an http(s) URL with a host")
        return value.rstrip("/")

    @property
    def proxy_host_port(self) -> str:
        """The single host:port the isolates may connect to."""
        parts = urlsplit(self.proxy_url)
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
        return f"{host}:{port}"
