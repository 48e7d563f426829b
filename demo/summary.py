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
        "nginx": outcome.served,
    }


def build(
    outcomes: list[Outcome],
    tally: Tally,
    pids: dict[str, int],
    startup_seconds: float,
    wall_seconds: float,
    reload_seconds: list[float],
) -> dict[str, Any]:
    return {
        "wallSeconds": round(wall_seconds, 1),
        "startupSeconds": round(startup_seconds, 1),
        "rollouts": [rollout_summary(o) for o in outcomes],
        "load": asdict(tally),
        "nginxReloads": {
            "count": len(reload_seconds),
            "maxSeconds": round(max(reload_seconds, default=0.0), 3),
        },
        "pids": pids,
    }


def show(console: Console, summary: dict[str, Any]) -> None:
    grid = Table(title="codemode-rollout demo")
    for column in ("rollout", "phase", "steps walked", "final v2 %", "detected in"):
        grid.add_column(column)
    grid.add_column("Prometheus v1 / v2: requests, error rate")
    grid.add_column("nginx v1 / v2")
    for r in summary["rollouts"]:
        prom = r["prometheus"]
        grid.add_row(
            f"{r['name']} ({r['release']})",
            r["phase"],
            " → ".join(f"{w}%" for w in r["stepsWalked"]),
            str(r["finalWeight"]),
            "-" if r["detectSeconds"] is None else f"{r['detectSeconds']}s",
            " / ".join(
                f"{prom[v]['requests']:.0f}, {100 * prom[v]['errorRate']:.1f}%"
                f" ({prom[v]['infraErrors']:.0f} infra)"
                for v in ("v1", "v2")
            ),
            f"{r['nginx'].get('v1', 0)} / {r['nginx'].get('v2', 0)}",
        )
    console.print(grid)
    load = summary["load"]
    console.print(
        f"load: {load['calls']} MCP tool calls ({load['ok']} ok, {load['tool_errors']} tool errors,"
        f" {load['failed']} failed); nginx reloads: {summary['nginxReloads']['count']};"
        f" wall time {summary['wallSeconds']}s (stack start {summary['startupSeconds']}s)"
    )


def write(path: Path, summary: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2))
