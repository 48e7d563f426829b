"""After success, v1 is scaled to 0 once `scaleDownStable.after` has passed."""

from .actions import ScaleStable
from .tick import Tick


def check(t: Tick) -> None:
    status, policy = t.status, t.spec.scale_down_stable
    stable, after = t.observations.stable, policy.after
    if (
        not policy.enabled
        or status.succeeded_at is None
        or status.stable_scaled_down_at is not None
    ):
        return
    if t.now - status.succeeded_at >= after and stable is not None:
        status.stable_scaled_down_at = t.now
        status.stable_replicas = stable.desired_replicas  # what an abort restores
        t.actions.append(ScaleStable(t.spec.stable.deployment, 0))
        t.emit("StableScaledDown", f"v1 scaled to 0 (was {stable.desired_replicas} replicas)")
