"""The manual controls of a rollout and which fits which state (docs/resource.md, docs/sre.md).

One set of rules for both ends: the operator refuses a request that does not fit
(rollout/sre_requests.py: a Warning event and `status.lastRequest`), and `kubectl codemode`
checks the same rules before asking, so it can say why at once and exit non-zero.
"""

from dataclasses import dataclass
from typing import Literal, TypeGuard, get_args

from .status import DONE_PHASES, ROLLED_BACK_PHASES, STEPPING_PHASES, Phase

Request = Literal[
    "promote", "skip", "abort", "retry"
]  # values of the codemode.io/request annotation
REQUESTS: tuple[Request, ...] = get_args(Request)
Pausing = Literal["pause", "resume"]  # a merge patch of spec.paused, no annotation
Control = Request | Pausing


def is_request(name: str) -> TypeGuard[Request]:
    return name in REQUESTS


@dataclass(frozen=True)
class ControlState:
    """What a control's fit depends on, read from the rollout's spec and status."""

    phase: Phase
    step: str  # `status.step`, e.g. "2/4"
    waits_for_approval: bool  # the current step has `pause.untilApproved`
    approved: bool  # `status.stepApproved`
    paused: bool  # `spec.paused`


def refusal(control: Control, state: ControlState) -> str | None:
    """Why `control` does not fit `state`, or None when it does."""
    phase = state.phase
    if control in ("promote", "skip") and phase not in STEPPING_PHASES:
        return f"{control} applies only while Progressing or Paused, not while {phase}"
    if control == "promote":
        if not state.waits_for_approval:
            return f"step {state.step} does not wait for approval (use skip to end its dwell)"
        if state.approved:
            return f"step {state.step} is already approved"
    if control == "abort" and phase in ROLLED_BACK_PHASES:
        return f"already {phase}: all traffic is on v1"
    if control == "retry" and phase not in ROLLED_BACK_PHASES:
        return f"retry applies only after RolledBack or Aborted, not while {phase}"
    if control == "pause":
        if state.paused:
            return "already paused"
        if phase in DONE_PHASES:
            return f"{phase}: there is nothing to pause"
    if control == "resume" and not state.paused:
        return "not paused"
    return None
