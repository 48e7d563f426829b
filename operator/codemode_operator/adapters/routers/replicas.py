"""Replica ratio: v1 and v2 pods behind one Service; the weight is v2's share of the pods."""

from __future__ import annotations

from codemode_operator.adapters.kube import Kube
from codemode_operator.rollout import DeploymentState, WeightReading


def split(total: int, weight: int) -> tuple[int, int]:
    """(v1, v2) replicas for `weight`% to v2; any traffic to v2 needs at least one pod."""
    if weight <= 0:
        return total, 0
    if weight >= 100:
        return 0, total
    canary = min(total - 1, max(1, round(total * weight / 100)))
    return total - canary, canary


class ReplicasRouter:
    def __init__(
        self,
        kube: Kube,
        namespace: str,
        stable: str,
        canary: str,
        total: int,
        observed: tuple[DeploymentState | None, DeploymentState | None],
    ) -> None:
        self.kube, self.namespace = kube, namespace
        self.stable, self.canary, self.total = stable, canary, total
        self.observed = observed

    def verify_weight(self, desired: int) -> WeightReading | None:
        """Verified when the Deployments ask for exactly `split(total, desired)` replicas: a
        ratio of pods only approximates most weights (5% of 4 pods is one pod, 25%)."""
        stable, canary = self.observed
        if stable is None or canary is None:
            return None
        current = (stable.desired_replicas, canary.desired_replicas)
        if not sum(current):
            return None
        return WeightReading(
            desired=desired,
            verified=current == split(self.total, desired),
            shown=round(100 * canary.desired_replicas / sum(current)),
        )

    def read_pins(self) -> tuple[str, ...]:
        return ()  # pods behind one Service: nothing can keep a conversation on one version

    async def set_pins(self, pins: tuple[str, ...]) -> None:
        """Never asked for pins (rollout/pins.py gives this router none)."""

    async def set_weight(self, weight: int) -> None:
        stable, canary = split(self.total, weight)
        # Add capacity before removing it: the side that grows is scaled first.
        growing_first = weight == 0 or (
            self.observed[0] is not None and stable > self.observed[0].desired_replicas
        )
        order = [(self.stable, stable), (self.canary, canary)]
        for name, replicas in order if growing_first else reversed(order):
            await self.kube.scale(self.namespace, name, replicas)
