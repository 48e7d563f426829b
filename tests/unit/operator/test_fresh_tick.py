"""A due tick refused as stale runs again once kopf's copy moves on, not a timer run later."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from codemode_operator import handlers
from codemode_operator.rollout import RolloutStatus
from codemode_operator.slots import Due, Slots

NOW = 1_000_000.0


class _Ticks:
    """Stands in for handlers._tick: stale (None) until the copy's resourceVersion is "2"; the
    first stale answer also moves the copy on, as kopf's watch does with our own last write."""

    def __init__(self, body: Any, moves: bool) -> None:
        self.body, self.moves, self.copies = body, moves, []

    async def __call__(self, body: Any, *_: Any) -> RolloutStatus | None:
        version = body.metadata["resourceVersion"]
        self.copies.append(version)
        if version == "2":
            return RolloutStatus(phase="Progressing")
        if self.moves:
            body.metadata["resourceVersion"] = "2"
        return None


async def _run(monkeypatch: pytest.MonkeyPatch, due: Due | None, moves: bool) -> tuple[Any, ...]:
    body = SimpleNamespace(metadata={"resourceVersion": "1"})
    ticks = _Ticks(body, moves)
    monkeypatch.setattr(handlers, "_tick", ticks)
    monkeypatch.setattr(handlers, "OWN_WRITE_WAIT", 0.3)  # the bound on the wait, shortened
    slots = Slots(1, grace=60, clock=lambda: NOW)
    status = await handlers._fresh_tick(body, None, None, slots, due, False)  # type: ignore[arg-type]
    return status, ticks.copies


async def test_a_stale_due_tick_runs_again_on_the_newer_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, copies = await _run(monkeypatch, Due(NOW - 1), moves=True)
    assert status is not None and copies == ["1", "2"]


async def test_a_stale_routine_tick_waits_for_the_next_timer_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, copies = await _run(monkeypatch, None, moves=True)
    assert status is None and copies == ["1"]


async def test_a_copy_that_does_not_move_is_not_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, copies = await _run(monkeypatch, Due(NOW - 1), moves=False)
    assert status is None and copies == ["1"]
