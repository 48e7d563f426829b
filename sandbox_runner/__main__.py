"""`codemode-sandbox`: start the sandbox runner."""

from __future__ import annotations

import argparse
import logging
import math

import uvicorn
from pydantic import ValidationError

from sandbox_runner.app import create_app
from sandbox_runner.schema import describe
from sandbox_runner.settings import Settings


def parse_settings(argv: list[str] | None = None) -> Settings:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="codemode-sandbox", description=__doc__)
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port)
    parser.add_argument("--proxy-url", default=defaults.proxy_url, help="api-proxy base URL")
    parser.add_argument("--pool-size", type=int, default=defaults.pool_size)
    parser.add_argument("--max-queue", type=int, default=defaults.max_queue)
    parser.add_argument("--queue-timeout", type=float, default=defaults.queue_timeout)
    parser.add_argument("--default-timeout", type=float, default=defaults.default_timeout)
    parser.add_argument("--max-timeout", type=float, default=defaults.max_timeout)
    parser.add_argument("--max-heap-mb", type=int, default=defaults.max_heap_mb)
    parser.add_argument("--max-rss-mb", type=int, default=defaults.max_rss_mb)
    parser.add_argument("--max-output-bytes", type=int, default=defaults.max_output_bytes)
    parser.add_argument("--max-api-calls", type=int, default=defaults.default_max_api_calls)
    parser.add_argument("--max-request-bytes", type=int, default=defaults.max_request_bytes)
    parser.add_argument("--spawn-timeout", type=float, default=defaults.spawn_timeout)
    parser.add_argument("--idle-timeout", type=float, default=defaults.idle_timeout)
    parser.add_argument("--shutdown-grace", type=float, default=defaults.shutdown_grace)
    parser.add_argument("--deno-path", default=None, help="default: the deno from PyPI")
    parser.add_argument("--work-dir", default=None, help="default: /dev/shm, else the temp dir")
    args = vars(parser.parse_args(argv))
    args["default_max_api_calls"] = args.pop("max_api_calls")
    try:
        return Settings(**args)
    except ValidationError as error:
        parser.error(describe(error).replace("_", "-"))  # exits with status 2


def main(argv: list[str] | None = None) -> None:
    settings = parse_settings(argv)
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace),
    )


if __name__ == "__main__":
    main()
