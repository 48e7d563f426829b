"""The split as the Gateway applies it: Traefik's live weights and its per-version counts.

The operator writes weights into the HTTPRoute and Traefik, the Gateway API implementation,
applies them. A thread reads Traefik's own API every 0.25 s and records each change of the
weights it runs, with the time it was first seen; the requests each version served come from
Traefik's access log (the backend Service of every request it passed).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from devcluster.gateway import Gateway

POLL_SECONDS = 0.25


@dataclass(frozen=True)
class WeightChange:
    at: float  # time.monotonic() when Traefik was first seen running these weights
    weights: dict[str, int]  # Service name -> weight


def v2_share(weights: dict[str, int], canary: str) -> int:
    """The canary's percentage of the traffic under these weights (0 when there are none)."""
    total = sum(weights.values())
    return round(100 * weights.get(canary, 0) / total) if total else 0


class AppliedSplit:
    """The weights Traefik runs for `route`, whose backends are the Services `stable` (v1) and
    `canary` (v2)."""

    def __init__(
        self, gateway: Gateway, namespace: str, route: str, stable: str, canary: str
    ) -> None:
        self.gateway, self.namespace, self.route = gateway, namespace, route
        self.stable, self.canary = stable, canary
        self.url = gateway.url
        self.changes: list[WeightChange] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="applied-split", daemon=True)

    @property
    def weights(self) -> dict[str, int]:
        return self.changes[-1].weights if self.changes else {}

    @property
    def canary_share(self) -> int:
        """v2's percentage of the traffic Traefik runs now."""
        return v2_share(self.weights, self.canary)

    def start(self) -> None:
        self._record()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def served(self) -> dict[str, int]:
        """Requests Traefik has passed to each version's Service so far."""
        return dict(self.gateway.served(self.namespace))

    def _record(self) -> None:
        routers = self.gateway.applied_weights(self.namespace, self.route)
        # The weighted rule is the last (the pin rules come first); until Traefik has loaded the
        # route there is nothing to record.
        if routers and routers[-1] != self.weights:
            self.changes.append(WeightChange(time.monotonic(), routers[-1]))

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self._record()
            except httpx.HTTPError:
                continue  # Traefik busy or stopping: the next poll reads it again
