"""v2 must be Ready to take more traffic; not Ready past the progress deadline rolls back."""

from codemode_operator.apis import conditions
from codemode_operator.apis.conditions import HEALTHY
from codemode_operator.apis.duration import format_duration

from . import phases
from .tick import Tick


def _scaled_by_router(t: Tick, replicas: int) -> bool:
    # The replicas router gives v2 its pods with the first weight: none yet is not "not Ready".
    return t.spec.router.type == "replicas" and replicas == 0 and t.status.step_started_at is None


def check(t: Tick) -> bool:
    canary = t.observations.canary
    ready = canary is not None and (canary.ready or _scaled_by_router(t, canary.desired_replicas))
    status = t.status
    if ready:
        status.readiness_wait_since = None
        conditions.set_condition(status, HEALTHY, True, "Ready", "v2 is Ready", t.now)
        return True
    why = (
        "v2 Deployment not found"
        if canary is None
        else (
            f"v2 {canary.available_replicas}/{canary.desired_replicas} available, "
            f"{canary.updated_replicas} updated"
        )
    )
    conditions.set_condition(status, HEALTHY, False, "NotReady", why, t.now)
    since = status.readiness_wait_since = status.readiness_wait_since or t.now
    deadline = t.spec.progress_deadline
    if t.now - since >= deadline:
        phases.roll_back(
            t, "ProgressDeadlineExceeded", f"{why} for {format_duration(deadline)} or more"
        )
    return False
