"""`codemode-mcp`: serve the Code Mode (v2) or classic (v1) MCP server for a mounted spec.

Every flag also reads an environment variable (CODEMODE_<FLAG>); both win over config.yaml.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

import uvicorn

from mcp_server.app import create_app
from mcp_server.listeners import bind
from mcp_server.openapi.loading import SpecError
from mcp_server.settings import Settings

_FLAGS: dict[str, tuple[Any, str]] = {
    "mode": (str, "v1 (every operation a tool) or v2 (Code Mode)"),
    "config_dir": (str, "folder with the OpenAPI document and config.yaml"),
    "spec_file": (str, "spec file name inside the config folder"),
    "backend_url": (str, "backend base URL (default: the spec's first server)"),
    "host": (str, "bind address"),
    "port": (int, "port of MCP, health and metrics"),
    "proxy_host": (str, "bind address of the api-proxy (the sandbox's only way out)"),
    "proxy_port": (int, "port of the api-proxy, which serves nothing else"),
    "sandbox_url": (str, "sandbox runner base URL"),
    "keep_alive_seconds": (int, "idle connections are kept this long (over the gateway's)"),
    "soft_wait_seconds": (float, "execute waits this long before answering with a job"),
    "execution_timeout_seconds": (float, "wall-timeout of one execution"),
    "max_api_calls": (int, "API calls allowed per execution"),
    "job_store_url": (str, "redis:// URL of the job store shared by the replicas"),
    "session_key": (str, "HMAC key of session ids and job ids (prefer CODEMODE_SESSION_KEY)"),
}
_LIST_FLAGS = {
    "allowed_hosts": "Host header values accepted on /mcp (DNS-rebinding protection)",
    "natives": "operations exposed as direct tools in v2",
}


def parse_overrides(argv: list[str] | None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="codemode-mcp", description=__doc__)
    for name, (kind, text) in _FLAGS.items():
        env = os.environ.get(f"CODEMODE_{name.upper()}")
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=env, help=text)
    for name, text in _LIST_FLAGS.items():
        env = os.environ.get(f"CODEMODE_{name.upper()}")
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=lambda value: [item for item in value.split(",") if item],
            default=env.split(",") if env else None,
            help=f"{text} (comma-separated)",
        )
    return vars(parser.parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per proxied call is noise
    try:
        settings = Settings.load(parse_overrides(argv))
        app = create_app(settings)
    except (SpecError, ValueError) as exc:
        print(f"codemode-mcp: {exc}", file=sys.stderr)
        return 2
    # uvicorn says which address is taken and exits when one cannot be bound.
    sockets = [bind(settings.host, settings.port)]
    if settings.mode == "v2":  # only Code Mode has a sandbox calling back
        sockets.append(bind(settings.proxy_host, settings.proxy_port))
    config = uvicorn.Config(app, log_level="info", timeout_keep_alive=settings.keep_alive_seconds)
    uvicorn.Server(config).run(sockets=sockets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
