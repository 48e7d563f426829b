"""The weight v2 should have, and the one SetWeight that gets it there."""

from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import STEPPING_PHASES, RolloutStatus

from .actions import SetWeight
from .observations import Observations


def desired(spec: RolloutSpec, status: RolloutStatus) -> int:
    if status.phase == "Succeeded":
        return 100
    if status.phase in STEPPING_PHASES and status.step_entered:
        return spec.steps[status.step_index].weight
    return 0


def sync(spec: RolloutSpec, status: RolloutStatus, observed: Observations) -> SetWeight | None:
    """Write the weight only when the router differs, so a change is never repeated."""
    target = desired(spec, status)
    stable = observed.stable
    if target == 0 and status.stable_replicas is not None and stable is not None:
        # v1 is being restored after a scale-down: moving traffic now would be an outage.
        if stable.available_replicas == 0:
            return None
        status.stable_replicas = None
    status.canary_weight = target
    shown = observed.router_weight
    return None if shown is not None and shown.realises(target) else SetWeight(target)
