"""What decide asks the handlers to do, in order."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class SetWeight:
    weight: int  # % of traffic to v2


@dataclass(frozen=True)
class SetPins:
    versions: tuple[str, ...]  # whose conversations the router keeps on them (rollout/pins.py)


@dataclass(frozen=True)
class ScaleStable:
    deployment: str  # v1's Deployment, in the rollout's namespace
    replicas: int  # 0 after success; the recorded count to restore v1


@dataclass(frozen=True)
class RunGateJob:
    step: int
    index: int
    attempt: int  # gate Jobs are named per attempt, so a retry runs them again
    job: Mapping[str, Any]  # the gate's batch/v1 JobSpec, as the spec gives it


@dataclass(frozen=True)
class Emit:
    """An Event this tick queued in `status.events` (posted from there) and the handlers count."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class ClearRequest:
    """Remove the `codemode.io/request` annotation once its request is recorded."""


Action = SetWeight | SetPins | ScaleStable | RunGateJob | Emit | ClearRequest

# Handlers run actions in this order: traffic first (a rollback must not wait on anything), the
# pins right after the weight (a rollback's weight 0 and dropped v2 pin land in one tick).
ORDER: tuple[type, ...] = (SetWeight, SetPins, ScaleStable, RunGateJob, Emit, ClearRequest)
