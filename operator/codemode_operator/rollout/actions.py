"""What decide asks the handlers to do, in order."""

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class SetWeight:
    weight: int  # % of traffic to v2


@dataclass(frozen=True)
class ScaleStable:
    replicas: int  # 0 after success; the recorded count to restore v1


@dataclass(frozen=True)
class RunGateJob:
    step: int
    index: int
    attempt: int  # gate Jobs are named per attempt, so a retry runs them again


@dataclass(frozen=True)
class Emit:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class ClearRequest:
    """Remove the `codemode.io/request` annotation once its request is recorded."""


Action = SetWeight | ScaleStable | RunGateJob | Emit | ClearRequest

# Handlers run actions in this order: traffic first (a rollback must not wait on anything).
ORDER: tuple[type, ...] = (SetWeight, ScaleStable, RunGateJob, Emit, ClearRequest)
