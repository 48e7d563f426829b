"""SRE tools benchmark (not a test): codemode-smoke and a 1000-request codemode-soak, as shipped.

    .venv/bin/python -m benchmarks.bench_sre [--requests 1000] [--concurrency 8]   (repo root)

Starts the sample backend, a sandbox runner and a v2 MCP server on 127.0.0.1 (the integration
suite's starters), runs both console scripts against it with `--json`, prints their summaries.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from devcluster.mcp_servers import NATIVES, USER_TOKEN, runner_and_v2, sample_backend, write_config
from devcluster.processes import stopping
from devcluster.specs import SAMPLE_SPEC

BIN = Path(sys.executable).parent


def run(script: str, url: str, *flags: str) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / script), "--url", url, "--token", USER_TOKEN, "--json", *flags],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - started
    return f"{script} rc={done.returncode} wall={seconds:.1f}s {done.stdout.strip()}{done.stderr}"


def bench(workdir: Path, requests: int, concurrency: int) -> list[str]:
    with ExitStack() as started:
        backend = started.enter_context(stopping(sample_backend(workdir).start()))
        config = write_config(workdir / "cfg", SAMPLE_SPEC, backendUrl=backend.url, natives=NATIVES)
        _, server = runner_and_v2(started, workdir, "mcp", config)
        url = f"{server.url}/mcp"
        return [
            run("codemode-smoke", url),
            run(
                "codemode-soak", url, "--requests", str(requests), "--concurrency", str(concurrency)
            ),
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for line in bench(Path(workdir), args.requests, args.concurrency):
            print(line)


if __name__ == "__main__":
    main()
