"""The live status view: the rollout as the operator reports it, the split Traefik applies, the load.

On a terminal a rich table refreshes in place; elsewhere (a test, a CI log) only the event lines
are printed.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from demo.split import AppliedSplit
from demo.traffic import Tally


def _condition(status: dict[str, Any], kind: str) -> str:
    found: dict[str, Any] = next(
        (c for c in status.get("conditions", []) if c.get("type") == kind), {}
    )
    return str(found.get("reason", "-"))


def _e_value(analysis: dict[str, Any], test: str) -> str:
    value = analysis.get(test, {}).get("eValue")
    return "-" if value is None else f"{value:.3g}"


def table(name: str, status: dict[str, Any], split: AppliedSplit, tally: Tally) -> Table:
    analysis = status.get("analysis", {})
    served = split.served()
    grid = Table(title=f"CodeModeRollout {name}", show_header=False, min_width=60)
    grid.add_column(style="bold")
    grid.add_column()
    rows = {
        "phase": status.get("phase", "Pending"),
        "step": f"{status.get('step', '-')}  (remaining {status.get('stepRemaining', '-')})",
        "v2 weight (operator)": f"{status.get('canaryWeight', 0)}%",
        "v2 weight (Traefik)": f"{split.canary_share}%",
        "progressing": _condition(status, "Progressing"),
        "analysis verdict": analysis.get("verdict", "-"),
        "e-value errors / infra": f"{_e_value(analysis, 'errors')} / {_e_value(analysis, 'infraErrors')}",
        "v1 / v2 requests (analysis)": f"{analysis.get('stableTotal', {}).get('requests', 0)}"
        f" / {analysis.get('canaryTotal', {}).get('requests', 0)}",
        "through Traefik v1 / v2": f"{served.get(split.stable, 0)} / {served.get(split.canary, 0)}",
        "load calls ok / tool errors / failed": f"{tally.ok} / {tally.tool_errors} / {tally.failed}",
        "mixed-version calls / moved conversations": f"{tally.mixed} / {tally.restarts}",
    }
    for key, value in rows.items():
        grid.add_row(key, str(value))
    return grid


class View:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._live = Live(console=console, auto_refresh=False) if console.is_terminal else None

    def __enter__(self) -> View:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()

    def show(self, name: str, status: dict[str, Any], split: AppliedSplit, tally: Tally) -> None:
        if self._live is not None:
            self._live.update(table(name, status, split, tally), refresh=True)

    def note(self, text: str) -> None:
        self.console.log(text)
