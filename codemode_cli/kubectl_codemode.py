"""`kubectl codemode`: see and steer CodeModeRollouts (the kubectl plugin; on PATH as kubectl-codemode).

Each control does exactly what docs/resource.md does with plain kubectl (the
`codemode.io/request` annotation, or a merge patch of spec.paused), after checking it fits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import cast

from codemode_operator.apis.controls import REQUESTS, Control
from codemode_operator.apis.status import DONE_PHASES
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from rich.console import Console
from rich.live import Live

from codemode_cli.controls import phase, refusal
from codemode_cli.rollouts import RolloutError, Rollouts, context_namespace
from codemode_cli.usage import PrometheusQueries, UsageError, time_range, usage_report
from codemode_cli.views import rollouts_table, status_view, usage_view

PAUSES: dict[str, bool] = {"pause": True, "resume": False}  # the spec.paused each one sets
DONE_MESSAGES = {"pause": "paused", "resume": "resumed"}


def _connection_flags() -> argparse.ArgumentParser:
    # SUPPRESS: the flags work before or after the command without one overwriting the other.
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument("-n", "--namespace", default=argparse.SUPPRESS)
    flags.add_argument(
        "--kubeconfig", default=argparse.SUPPRESS, help="default: $KUBECONFIG, ~/.kube/config"
    )
    return flags


def _parser() -> argparse.ArgumentParser:
    flags = _connection_flags()
    cli = argparse.ArgumentParser(prog="kubectl codemode", description=__doc__, parents=[flags])
    commands = cli.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("get", parents=[flags], help="table of rollouts")
    listing.add_argument("-A", "--all-namespaces", action="store_true")
    status = commands.add_parser(
        "status", aliases=["describe"], parents=[flags], help="one rollout's status"
    )
    status.add_argument("name")
    status.add_argument("-w", "--watch", action="store_true", help="redraw until it is done")
    status.add_argument("--interval", type=float, default=1.0, help="seconds between redraws")
    status.add_argument(
        "--timeout", type=float, default=86400.0, help="stop watching after this many seconds"
    )
    usage = commands.add_parser(
        "usage", parents=[flags], help="the week-one usage table of the namespace's MCP servers"
    )
    usage.add_argument("--since", default="7d", help="length of the range (7d, 24h, 90m)")
    usage.add_argument("--until", help="end of the range, ISO time (default: now)")
    usage.add_argument(
        "--prometheus",
        default=os.environ.get("CODEMODE_PROMETHEUS_URL"),
        help="Prometheus URL (default: $CODEMODE_PROMETHEUS_URL, else the namespace's rollout's)",
    )
    usage.add_argument(
        "--selector", help='label matchers of the MCP series (default: namespace="<namespace>")'
    )
    usage.add_argument("--top", type=int, default=10, help="promotion candidates shown")
    usage.add_argument("--json", action="store_true", help="the report as one JSON object")
    for control in (*REQUESTS, *PAUSES):
        commands.add_parser(control, parents=[flags], help=f"{control} a rollout").add_argument(
            "name"
        )
    return cli


def _watch(rollouts: Rollouts, name: str, interval: float, timeout: float, out: Console) -> int:
    """Redraw until Succeeded (exit 0), RolledBack/Aborted (exit 1) or the timeout (exit 1)."""
    rollout = rollouts.get(name)
    deadline = time.monotonic() + timeout
    shown = None
    with Live(status_view(rollout), console=out, auto_refresh=False) as live:
        while phase(rollout) not in DONE_PHASES and time.monotonic() < deadline:
            time.sleep(interval)
            rollout = rollouts.get(name)
            if out.is_terminal:
                live.update(status_view(rollout), refresh=True)
            elif rollout.get("status") != shown:  # a log or a pipe: print each change once
                shown = rollout.get("status")
                out.print(status_view(rollout))
    if phase(rollout) == "Succeeded":
        return 0
    if phase(rollout) not in DONE_PHASES:
        print(f'cmr "{name}" is still {phase(rollout)} after {timeout:.0f}s', file=sys.stderr)
    return 1


def _control(rollouts: Rollouts, command: Control, name: str) -> None:
    why = refusal(rollouts.get(name), command)
    if why:
        raise RolloutError(why)
    if command in PAUSES:
        rollouts.set_paused(name, PAUSES[command])
        print(f'cmr "{name}" {DONE_MESSAGES[command]}')
    else:
        rollouts.request(name, command)
        print(f'cmr "{name}" {command} requested (the operator records it in status.lastRequest)')


def _usage(args: argparse.Namespace, kubeconfig: str | None, out: Console) -> None:
    namespace = getattr(args, "namespace", None) or context_namespace(kubeconfig)
    address = args.prometheus
    if not address:
        found = Rollouts(kubeconfig, namespace).list()
        addresses = [
            ((r.get("spec", {}).get("analysis") or {}).get("prometheus") or {}).get("address")
            for r in found
        ]
        address = next((a for a in addresses if a), None)
        if not address:
            raise UsageError(
                f'no --prometheus given and no cmr in namespace "{namespace}" names one'
            )
    start, end = time_range(args.since, args.until)
    selector = args.selector if args.selector is not None else f'namespace="{namespace}"'
    report = usage_report(
        PrometheusQueries(address, end), namespace, start, end, selector, args.top
    )
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        # Piped or in a Job's log, rich would fold the table at 80 columns.
        wide = out if out.is_terminal else Console(width=160)
        wide.print(usage_view(report))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "describe":
        args.command = "status"  # an alias: kubectl users reach for describe
    out = Console()
    kubeconfig = getattr(args, "kubeconfig", None) or os.environ.get("KUBECONFIG")
    try:
        if args.command == "usage":
            _usage(args, kubeconfig, out)
            return 0
        rollouts = Rollouts(kubeconfig, getattr(args, "namespace", None))
        if args.command == "get":
            found = rollouts.list(args.all_namespaces)
            if not found:
                print(f'no cmr found in namespace "{rollouts.namespace}"', file=sys.stderr)
            else:
                out.print(rollouts_table(found, args.all_namespaces))
        elif args.command == "status" and args.watch:
            return _watch(rollouts, args.name, args.interval, args.timeout, out)
        elif args.command == "status":
            out.print(status_view(rollouts.get(args.name)))
        else:
            _control(rollouts, cast(Control, args.command), args.name)  # argparse's choices
    except (RolloutError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ApiException, ConfigException) as exc:
        reason = getattr(exc, "reason", None) or exc
        print(f"error: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
