"""Traffic routers behind one narrow interface: read and write the v2 weight and the pins."""

from __future__ import annotations

from typing import Protocol


class Router(Protocol):
    def read_weight(self, expected: int) -> int | None:
        """The v2 weight the router applies now (None: unknown, so it will be written)."""

    async def set_weight(self, weight: int) -> None:
        """Send `weight` % of traffic to v2 and the rest to v1."""

    def read_pins(self) -> tuple[str, ...] | None:
        """The versions whose conversations the router keeps on them (None: unknown)."""

    async def set_pins(self, pins: tuple[str, ...]) -> None:
        """Keep the conversations of `pins` on their version (rollout/pins.py)."""
