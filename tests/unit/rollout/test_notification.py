"""What is notified, with what words, and when a failed delivery is tried again (pure)."""

from datetime import timedelta

import pytest
from codemode_operator.apis.status import NotificationsStatus, RolloutStatus
from codemode_operator.rollout import notification

from .world import World, make_spec

NOTIFY = {"secretRef": {"name": "codemode-notifications"}}
FAST = [{"weight": w, "pause": {"duration": "5m"}} for w in (5, 25, 50)] + [{"weight": 100}]


def notified(**world: object) -> World:
    return World(spec=make_spec(notifications=NOTIFY, steps=FAST), **world)  # type: ignore[arg-type]


def outbox(world: World) -> list[tuple[int, str]]:
    state = world.status.notifications
    assert state is not None
    return [(n.seq, n.transition) for n in state.outbox]


def test_each_transition_of_a_rollout_is_queued_once_in_order() -> None:
    world = notified()
    world.run_until("Succeeded")
    assert outbox(world) == [
        (1, "StepStarted"),
        (2, "StepStarted"),
        (3, "StepStarted"),
        (4, "Succeeded"),
    ]
    first = world.status.notifications.outbox[0]  # type: ignore[union-attr]
    assert first.title == "StepStarted" and first.severity == "info"
    assert first.body.startswith("step 1: 5% to v2") and "now Progressing 1/4 (5%)" in first.body


def test_a_rollback_says_why_with_the_verdicts_figures() -> None:
    world = notified(rate=1000, canary_error_rate=0.10, stable_error_rate=0.01)
    world.run_until("RolledBack", limit=timedelta(minutes=30))
    last = world.status.notifications.outbox[-1]  # type: ignore[union-attr]
    assert (last.transition, last.severity) == ("RolledBack", "failure")
    assert last.title == "RolledBack (AnalysisFailed)"
    assert (
        "errors: v2 10.000% vs v1 1.053%, e=498 (fail at 105)" in last.body
        and "now RolledBack 1/4 (0%)" in last.body
    )


def test_holds_and_outages_are_told_and_unwanted_kinds_are_not() -> None:
    spec = {**NOTIFY, "transitions": ["MetricsUnavailable", "RolledBack"]}
    world = World(spec=make_spec(notifications=spec, steps=FAST))
    world.run(timedelta(minutes=3))
    world.metrics_down = "connection refused"
    world.run(timedelta(minutes=3))
    assert outbox(world) == [(1, "MetricsUnavailable")]
    assert world.status.notifications.outbox[0].body.startswith("connection refused")  # type: ignore[union-attr]


def test_without_notifications_nothing_is_queued() -> None:
    world = World(spec=make_spec(steps=FAST))
    world.run_until("Succeeded")
    assert world.status.notifications is None
    assert notification.due(world.spec, world.status, world.now) is None


def test_the_outbox_outlives_a_retry_and_keeps_counting() -> None:
    world = notified(rate=1000, canary_error_rate=0.10, stable_error_rate=0.01)
    world.run_until("RolledBack", limit=timedelta(minutes=30))
    world.canary_error_rate = 0.01
    world.request = "retry"
    world.run(timedelta(minutes=2))  # step 1 entered, then read back
    assert outbox(world) == [(1, "StepStarted"), (2, "RolledBack"), (3, "StepStarted")]


def test_delivery_in_order_with_backoff_and_no_resend() -> None:
    world = notified()
    world.run_until("Succeeded")
    spec, now = world.spec, world.now
    status = world.status
    first = notification.due(spec, status, now)
    assert first is not None and first.seq == 1
    state = status.notifications
    assert state is not None
    waits = []
    for _ in range(8):
        state = notification.failed(state, now, "HTTP 500")
        assert state.next_attempt_at is not None
        waits.append(state.next_attempt_at - now)
    assert [w.total_seconds() for w in waits] == [5, 10, 20, 40, 80, 160, 300, 300]
    held = status.model_copy(update={"notifications": state})
    assert notification.due(spec, held, now) is None, "not before the retry time"
    assert notification.due(spec, held, now + timedelta(minutes=5)) == first
    done = notification.sent(state, first)
    assert (done.delivered, done.attempts, done.next_attempt_at) == (1, 0, None)
    after = status.model_copy(update={"notifications": done})
    nxt = notification.due(spec, after, now)
    assert nxt is not None and nxt.seq == 2
    # A lagging copy of the status still says 0 delivered: the shell's own record wins.
    assert notification.due(spec, status, now, delivered=1) == nxt
    assert notification.delivery_patch(done) == {
        "notifications": {"delivered": 1, "attempts": 0, "nextAttemptAt": None, "lastError": None}
    }


def test_the_outbox_is_bounded_and_round_trips() -> None:
    world = notified()
    state = NotificationsStatus()
    world.status.notifications = state
    for _ in range(notification.KEEP + 5):
        world.status.phase = "Progressing"
        world.tick()
        world.request = "abort"
        world.tick()
        world.request = "retry"
        world.tick()
    kept = world.status.notifications
    assert kept is not None and len(kept.outbox) == notification.KEEP
    assert kept.outbox[-1].seq == kept.queued
    assert RolloutStatus.model_validate(world.status.to_dict()) == world.status


@pytest.mark.parametrize(
    ("phase", "reason", "kind"),
    [
        ("Progressing", "StepStarted", "StepStarted"),
        ("Succeeded", "Succeeded", "Succeeded"),
        ("RolledBack", "ProgressDeadlineExceeded", "RolledBack"),
        ("Aborted", "AbortRequested", "Aborted"),
        ("Pending", "Created", None),
        ("Paused", "Paused", None),
    ],
)
def test_which_recorded_transitions_are_told(phase: str, reason: str, kind: str | None) -> None:
    assert notification.transition(RolloutStatus(phase=phase), reason) == kind  # type: ignore[arg-type]
