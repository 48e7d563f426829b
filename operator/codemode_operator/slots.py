"""The tick slots: one tick per worker thread at a time, the ticks that are due first.

At 500 rollouts and a tick of 5 s, 100 ticks a second are wanted; on a loaded API server the
threads got through 16, and in a FIFO queue the tick that ends a dwell waited behind hundreds
of routine ones (lag from `stepEndsAt` to the route: p50 25 s, p95 53 s). So a waiting tick
that is due (its rollout's dwell has ended, or a step's weight waits to be read back) is let
in before routine ones, the earliest due first. A rollout counts as due for `grace` seconds
only: one held at its dwell's end (an approval, data, a gate) does not jump the queue on
every tick, so routine ticks (analysis, rollbacks) are never starved for long.

Among due ticks, those ending a dwell go before those reading a weight back (`Due.rank`): 500
rollouts started together end their dwells and read their weights back in the same bursts, and
only the first is late for the step's promise (lag from `stepEndsAt` to the route). A read-back
let in later starts the dwell later: the step is exposed longer, never shorter.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

DWELL_END, READ_BACK = 0, 1  # the ranks of due ticks, the lower first


@dataclass(frozen=True)
class Due:
    at: float  # when the tick became (or becomes) due, in seconds since the epoch
    rank: int = DWELL_END


@dataclass(eq=False)
class _Waiter:
    due: Due | None  # None: routine
    granted: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Slots:
    def __init__(self, size: int, grace: float, clock: Callable[[], float] = time.time) -> None:
        self.free, self.grace, self.clock = size, grace, clock
        self.waiters: list[_Waiter] = []  # in arrival order

    @contextlib.asynccontextmanager
    async def hold(self, due: Due | None) -> AsyncIterator[None]:
        """A slot for the duration of the block; `due`: when the tick became due, if it is."""
        await self._acquire(due)
        try:
            yield
        finally:
            self._release()

    def is_due(self, due: Due | None) -> bool:
        return due is not None and due.at <= self.clock() <= due.at + self.grace

    def next_waiter(self) -> _Waiter:
        """The due waiter of the lowest rank, earliest due first; else the first to arrive."""
        due = [(w.due.rank, w.due.at, w) for w in self.waiters if w.due and self.is_due(w.due)]
        return min(due, key=lambda d: d[:2])[2] if due else self.waiters[0]

    async def _acquire(self, due: Due | None) -> None:
        if self.free and not self.waiters:
            self.free -= 1
            return
        waiter = _Waiter(due)
        self.waiters.append(waiter)
        try:
            await waiter.granted
        except asyncio.CancelledError:
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release()  # handed a slot, then cancelled before using it
            else:
                self.waiters.remove(waiter)
            raise

    def _release(self) -> None:
        if not self.waiters:
            self.free += 1
            return
        waiter = self.next_waiter()
        self.waiters.remove(waiter)
        waiter.granted.set_result(None)  # the slot passes to it directly
