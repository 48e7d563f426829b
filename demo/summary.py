"""What the demo showed, as a table for people and as JSON for the test."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from demo.scenario import Outcome
from demo.traffic import Tally


def rollout_summary(outcome: Outcome) -> dict[str, Any]:
    status = outcome.status
    peak = max(outcome.weights, default=0)
    return {
        "name": outcome.name,
        "release": outcome.release,
        "phase": outcome.phase,
        "stepsWalked": outcome.weights,
        "finalWeight": int(status.get("canaryWeight", 0)),
        # The last weight v2 had before it went back to 0: the step the rollback happened at.
        "rolledBackAtWeight": peak if outcome.phase == "RolledBack" else None,
        "step": status.get("step"),
        "seconds": outcome.seconds,
        "faultAfterSeconds": outcome.fault_after,
        "detectSeconds": outcome.detected_after_fault,
        "trafficOnV1Seconds": outcome.v1_after_fault,
        "verdict": status.get("analysis", {}).get("verdict"),
        "prometheus": outcome.prometheus,
        "gateway": outcome.served,
    }


def build(
    outcomes: list[Outcome],
    tally: Tally,
    pids: dict[str, int],
    startup_seconds: float,
    wall_seconds: float,
    gateway: dict[str, Any],
    node: dict[str, Any],
    leftovers: list[str],
) -> dict[str, Any]:
    return {
        "wallSeconds": round(wall_seconds, 1),
        "startupSeconds": round(startup_seconds, 1),
        "rollouts": [rollout_summary(o) for o in outcomes],
        "load": asdict(tally),
        "gateway": gateway,
        "node": node,
        "pids": pids,
        "leftovers": leftovers,  # what of the stack was still on the host once it stopped
    }


def _version(prom: dict[str, float]) -> str:
    return (
        f"{prom['requests']:.0f} requests, {100 * prom['errorRate']:.1f}% errors"
        f" ({prom['infraErrors']:.0f} infra)"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value}s"


def show(console: Console, summary: dict[str, Any]) -> None:
    rollouts = summary["rollouts"]
    grid = Table(title="codemode-rollout demo: summary")
    grid.add_column("")
    for r in rollouts:
        grid.add_column(f"{r['name']} (v2 {r['release']})")
    rows = {
        "phase": lambda r: r["phase"],
        "steps walked (v2 %)": lambda r: " → ".join(str(w) for w in r["stepsWalked"]),
        "final v2 weight": lambda r: f"{r['finalWeight']}%",
        "rollout took": lambda r: _seconds(r["seconds"]),
        "v2 broken after": lambda r: _seconds(r["faultAfterSeconds"]),
        "fault → RolledBack": lambda r: _seconds(r["detectSeconds"]),
        "fault → Traefik all on v1": lambda r: _seconds(r["trafficOnV1Seconds"]),
        "Prometheus v1": lambda r: _version(r["prometheus"]["v1"]),
        "Prometheus v2": lambda r: _version(r["prometheus"]["v2"]),
        "through Traefik v1 / v2": lambda r: (
            f"{r['gateway'].get('v1', 0)} / {r['gateway'].get('v2', 0)}"
        ),
    }
    for label, cell in rows.items():
        grid.add_row(label, *(cell(r) for r in rollouts))
    console.print(grid)
    load, gateway, node = summary["load"], summary["gateway"], summary["node"]
    console.print(
        f"traffic for {gateway['host']} entered the Gateway {gateway['name']}"
        f" ({gateway['implementation']}) at {gateway['url']}; it applied"
        f" {gateway['weightChanges']} weight changes. 'through Traefik' is Traefik's own count per"
        " backend Service (its access log: one line per request)."
    )
    on_node = sum(1 for ran_on in node["pods"].values() if ran_on == node["name"])
    console.print(
        f"{on_node} of {len(node['pods'])} pods (both charts' and the sample backends') ran on"
        f" {node['name']}, a real kubelet node (kubelet of Kubernetes {node['kubernetes']},"
        f" {node['containerRuntime']}), from the project's images; the operator ran in-cluster"
        " from its chart."
    )
    conversations = ", ".join(f"{n} {k}" for k, n in sorted(load["conversations"].items()))
    console.print(
        f"conversations like a model's (v2: search, execute, pollJob; v1: classic tools):"
        f" {conversations}; mixed-version calls: {load['mixed']} (pinning keeps it 0);"
        f" conversations moved by a rollback and told once: {load['restarts']}"
    )
    console.print(
        f"load: {load['calls']} MCP tool calls ({load['ok']} ok, {load['tool_errors']} tool errors,"
        f" {load['failed']} failed); wall time {summary['wallSeconds']}s"
        f" (stack start {summary['startupSeconds']}s); left on the host:"
        f" {', '.join(summary['leftovers']) or 'nothing'}"
    )
    for reason in load["breaks"]:
        console.print(f"failed conversation {reason}")


def write(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2))
