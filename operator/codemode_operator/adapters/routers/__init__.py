"""Traffic routers behind one narrow interface: read the v2 weight, write a v2 weight."""

from __future__ import annotations

from typing import Protocol


class Router(Protocol):
    def read_weight(self, expected: int) -> int | None:
        """The v2 weight the router applies now (None: unknown, so it will be written)."""

    async def set_weight(self, weight: int) -> None:
        """Send `weight` % of traffic to v2 and the rest to v1."""
