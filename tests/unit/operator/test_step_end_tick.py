"""The extra tick at a dwell's end that falls between two timer runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from codemode_operator.handlers import MIN_STEP_END_WAIT, _until_step_end
from codemode_operator.rollout import RolloutStatus


def _ending_in(seconds: float) -> RolloutStatus:
    return RolloutStatus(step_ends_at=datetime.now(UTC) + timedelta(seconds=seconds))


def test_a_dwell_ending_before_the_next_tick_is_waited_for() -> None:
    wait = _until_step_end(_ending_in(2), tick=5)
    assert wait is not None and 1.5 < wait <= 2


def test_no_extra_tick_when_the_next_timer_run_comes_first_or_the_dwell_is_over() -> None:
    assert _until_step_end(_ending_in(10), tick=5) is None
    assert _until_step_end(_ending_in(-1), tick=5) is None
    assert _until_step_end(RolloutStatus(), tick=5) is None
    assert _until_step_end(None, tick=5) is None


def test_the_wait_leaves_time_for_the_last_write_to_come_back_through_the_watch() -> None:
    assert _until_step_end(_ending_in(0.05), tick=5) == MIN_STEP_END_WAIT
