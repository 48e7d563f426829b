"""The tick slots: due ticks go ahead of routine ones, for a bounded time, and none leaks."""

from __future__ import annotations

import asyncio

import pytest
from codemode_operator.slots import READ_BACK, Due, Slots

NOW = 1_000_000.0
GRACE = 60.0


async def _order(slots: Slots, dues: list[Due | None]) -> list[int]:
    """Queue one tick per `dues` behind a held slot, release it; the order they ran in."""
    ran: list[int] = []

    async def tick(index: int, due: Due | None) -> None:
        async with slots.hold(due):
            ran.append(index)

    async with slots.hold(None):  # the one slot is busy while they all queue
        tasks = [asyncio.create_task(tick(i, due)) for i, due in enumerate(dues)]
        await asyncio.sleep(0)  # one loop pass: each new task runs up to its wait
        assert len(slots.waiters) == len(dues)
    await asyncio.gather(*tasks)
    return ran


def _slots() -> Slots:
    return Slots(1, grace=GRACE, clock=lambda: NOW)


async def test_a_due_tick_goes_ahead_of_routine_ones_earliest_due_first() -> None:
    dues = [None, None, Due(NOW - 2), None, Due(NOW - 5), Due(NOW + 10)]  # the last: not yet
    assert await _order(_slots(), dues) == [4, 2, 0, 1, 3, 5]


async def test_dwell_ends_go_ahead_of_read_backs_and_read_backs_of_routine_ticks() -> None:
    dues = [None, Due(NOW - 9, READ_BACK), Due(NOW - 1), Due(NOW - 5, READ_BACK), Due(NOW - 2)]
    assert await _order(_slots(), dues) == [4, 2, 1, 3, 0]


async def test_a_rollout_held_past_the_grace_waits_its_turn() -> None:
    dues = [None, Due(NOW - GRACE - 1), None, Due(NOW - GRACE - 1, READ_BACK)]
    assert await _order(_slots(), dues) == [0, 1, 2, 3]


async def test_a_cancelled_waiter_gives_its_slot_on() -> None:
    slots = _slots()
    async with slots.hold(None):
        waiting = asyncio.create_task(slots.hold(None).__aenter__())
        await asyncio.sleep(0)
        assert len(slots.waiters) == 1
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert slots.waiters == []
    assert slots.free == 1
    async with slots.hold(Due(NOW)):  # nothing left behind: the slot is taken at once
        assert slots.free == 0
    assert slots.free == 1


async def test_a_waiter_cancelled_once_handed_the_slot_gives_it_back() -> None:
    slots = _slots()
    held = slots.hold(None)
    await held.__aenter__()
    waiting = asyncio.create_task(slots.hold(None).__aenter__())
    await asyncio.sleep(0)
    assert len(slots.waiters) == 1
    await held.__aexit__(None, None, None)  # handed to the waiter, which has not run yet
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert slots.free == 1 and slots.waiters == []
