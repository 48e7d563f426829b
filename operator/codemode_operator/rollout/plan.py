"""What the shell must fetch for one tick, decided before it fetches anything (pure).

`decide` reads only `Observations`; `plan` says which of them this tick needs, so the
orchestrator neither asks the core twice nor works any of it out itself."""

from dataclasses import dataclass
from datetime import datetime

from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import RolloutStatus

from .analysis import Window, metrics_window
from .weight import desired


@dataclass(frozen=True)
class Plan:
    window: Window | None  # the Prometheus counts to fetch; None: no check is due
    gates: bool  # whether the gate Jobs of the current attempt must be listed
    weight: int  # the v2 weight the router is asked to verify (its `WeightReading`)


def _weight(spec: RolloutSpec, status: RolloutStatus) -> int:
    if status.step_index >= len(spec.steps):
        # The steps were shortened since the last tick: the index is past them until decide
        # moves it back (changes.py), so the router is asked about the weight last wanted.
        return status.canary_weight
    return desired(spec, status)


def plan(spec: RolloutSpec, status: RolloutStatus, now: datetime) -> Plan:
    return Plan(
        window=metrics_window(spec, status, now),
        gates=any(step.gates for step in spec.steps),
        weight=_weight(spec, status),
    )
