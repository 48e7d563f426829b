"""The Events outbox: every transition queued in the status write that records it, numbered."""

from datetime import timedelta

from codemode_operator.rollout import Emit, events

from .world import World, make_spec

MIN = timedelta(minutes=1)


def test_every_event_is_queued_with_its_transition_in_order() -> None:
    world = World(spec=make_spec(analysis=None)).start()
    world.run_until("Succeeded")
    outbox = world.status.events.outbox
    assert [r.seq for r in outbox] == list(range(1, len(outbox) + 1))
    emitted = [(a.type, a.reason, a.message) for a in world.log if isinstance(a, Emit)]
    assert [(r.type, r.reason, r.message) for r in outbox] == emitted
    # One for one with the history: each entry's Event is queued in the same status.
    transitions = [r.reason for r in outbox if r.reason in {"Created", "StepStarted", "Succeeded"}]
    assert transitions == [h.reason for h in world.status.history]
    assert [r.time for r in outbox if r.reason == "StepStarted"] == [
        h.time for h in world.status.history if h.reason == "StepStarted"
    ]


def test_numbering_outlives_a_retry() -> None:
    world = World(canary_error_rate=0.10, stable_error_rate=0.01).start()
    world.run_until("RolledBack", limit=timedelta(hours=1))
    queued = world.status.events.queued
    world.request, world.canary_error_rate = "retry", 0.01
    world.run(2 * MIN)
    assert world.status.events.queued > queued
    assert world.status.events.outbox[-1].seq == world.status.events.queued


def test_an_undeliverable_outbox_keeps_the_newest() -> None:
    world = World(spec=make_spec(analysis=None))
    for index in range(events.KEEP + 10):
        events.queue(world.status, world.now, "Normal", "Test", f"event {index} " + "x" * 2000)
    outbox = world.status.events.outbox
    assert len(outbox) == events.KEEP and outbox[-1].seq == events.KEEP + 10
    assert len(outbox[0].message) == events.MESSAGE_LIMIT


def _short_dwells() -> World:
    steps = [{"weight": w, "pause": {"duration": "20s"}} for w in (5, 25)] + [{"weight": 100}]
    return World(spec=make_spec(analysis=None, steps=steps)).start()


def test_the_posted_records_wait_for_the_end_of_a_running_dwell_only() -> None:
    world = _short_dwells()
    assert events.trim_waits(world.status, world.now)  # step 1 dwells until now + 20 s
    world.now += timedelta(seconds=20)
    assert not events.trim_waits(world.status, world.now)  # its end: a write comes now
    world.tick()  # enters step 2: its weight is applying, not dwelling yet
    assert world.status.applying is not None
    assert not events.trim_waits(world.status, world.now)
    world.run_until("Succeeded", limit=timedelta(minutes=5))
    assert not events.trim_waits(world.status, world.now)  # nothing comes after Succeeded


def test_no_trim_waits_for_an_approval_or_a_pause() -> None:
    manual = [{"weight": 5, "pause": {"untilApproved": True}}, {"weight": 100}]
    world = World(spec=make_spec(analysis=None, steps=manual)).start()
    assert world.status.phase == "Progressing" and world.status.step_ends_at is None
    assert not events.trim_waits(world.status, world.now)
    world = _short_dwells()
    world.spec = world.spec.model_copy(update={"paused": True})
    world.tick()
    assert world.status.phase == "Paused"
    assert not events.trim_waits(world.status, world.now)
