"""`codemode-sample-backend`: serve the sample platform, or write its OpenAPI document."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from mcp_server.sample_backend.app import create_app
from mcp_server.sample_backend.faults import Faults
from mcp_server.sample_backend.spec import SPEC_PATH, render_document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codemode-sample-backend", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", help="require this bearer token on every API call")
    parser.add_argument(
        "--build-seconds", type=float, default=1.0, help="how long a deployment takes to go live"
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-status", type=int, help="answer API calls with this status")
    parser.add_argument("--error-rate", type=float, default=1.0)
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=0.0,
        help="share of API calls whose connection is dropped",
    )
    parser.add_argument(
        "--write-spec",
        action="store_true",
        help=f"write the OpenAPI document to {SPEC_PATH} and exit",
    )
    args = parser.parse_args(argv)
    if args.write_spec:
        SPEC_PATH.write_text(render_document(), encoding="utf-8")
        return 0
    faults = Faults(
        latency_ms=args.latency_ms,
        error_status=args.error_status,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
    )
    app = create_app(faults=faults, build_seconds=args.build_seconds, token=args.token)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
