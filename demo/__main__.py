"""`python -m demo`: the staging stack (a real node, the charts, Traefik), two rollouts with a
live view, a summary; nothing left running."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from demo import stack, summary
from demo.scenario import Plan, Scenario
from demo.traffic import Load
from demo.view import View
from devcluster import versions


def _stop_on_sigterm() -> None:
    # SystemExit unwinds through every `finally`, as Ctrl-C does, so all processes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    parser.add_argument("--workdir", type=Path, help="logs and state (default: a new temp dir)")
    parser.add_argument("--rate", type=float, default=24.0, help="MCP tool calls per second")
    parser.add_argument("--dwell", default="20s", help="duration of the 5%%, 25%% and 50%% steps")
    args = parser.parse_args(argv)
    _stop_on_sigterm()
    # A conversation moved by a rollback has its old session refused (404): the SDK's warning
    # when it then ends that session would scroll over the live view. The summary counts them.
    logging.getLogger("mcp.client.streamable_http").setLevel(logging.ERROR)
    console = Console()
    try:
        return _run(args, console)
    except KeyboardInterrupt:  # raised after the stack has unwound: everything is stopped
        console.log("interrupted; everything the demo started has been stopped")
        return 130


def _run(args: argparse.Namespace, console: Console) -> int:
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="codemode-demo-"))
    console.log(f"starting the stack; logs under {workdir / 'stack'}")
    started = time.monotonic()
    with stack.running(workdir / "stack") as running:
        startup = time.monotonic() - started
        gw = running.gateway
        node = running.node_facts()
        console.log(
            f"stack up in {startup:.0f}s: the charts' pods run on {node['name']}, a real kubelet"
            f" node (kubelet of Kubernetes {node['kubernetes']}, {node['containerRuntime']});"
            f" traffic for {stack.PUBLIC_URL} enters the Gateway {gw.namespace}/{gw.name}"
            f" (Traefik {versions.TRAEFIK}) at {gw.url}"
        )
        # The Gateway is the public host's proxy, as DNS would send the traffic to it.
        load = Load(stack.PUBLIC_URL, stack.USER_TOKEN, rate=args.rate, proxy=gw.url)
        load.start()
        try:
            with View(console) as view:
                outcomes = Scenario(running, load, view, Plan(dwell=args.dwell)).run()
        finally:
            load.stop()
        pids = running.pids()
        node = running.node_facts()  # where the pods ran, the last of them included
        gateway = {
            "name": f"{gw.namespace}/{gw.name}",
            "implementation": f"Traefik {versions.TRAEFIK}",
            "url": gw.url,
            "host": stack.PUBLIC_URL,
            "weightChanges": len(running.split.changes) - 1,  # the first is the initial route
            "counted": "Traefik's access log: the backend Service of each request",
        }
    result = summary.build(
        outcomes,
        load.tally,
        pids,
        startup,
        time.monotonic() - started,
        gateway,
        node,
        running.staging.leftovers(),
    )
    summary.show(console, result)
    if args.json:
        summary.write(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
