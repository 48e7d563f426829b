"""No skipped exposure: a step's dwell, history entry and event start at the read-back of its
weight on the router, never at the status write that decided on it."""

from datetime import timedelta

from codemode_operator.rollout import Emit, SetWeight, decide

from .world import World, make_spec

MIN = timedelta(minutes=1)
STEPS = [
    {"weight": 5, "pause": {"duration": "10m"}},
    {"weight": 25, "pause": {"duration": "10m"}},
    {"weight": 100},
]


def _commit_then_die(world: World) -> None:
    """One tick whose status is written, and whose actions never run (killed in between)."""
    world.status = decide(world.spec, world.status, world.observations(), world.now).status


def test_the_history_entry_waits_for_the_weight_on_the_router() -> None:
    world = World(spec=make_spec(steps=STEPS, analysis=None))
    actions = world.tick()
    assert SetWeight(5) in actions and world.status.phase == "Progressing"
    assert world.status.applying is not None and world.status.step_started_at is None
    assert [h.reason for h in world.status.history] == ["Created"]
    assert world.condition("Progressing") == ("True", "ApplyingWeight")
    assert world.status.step_remaining == "10m", "not started: all of the dwell is left"
    world.now += MIN
    actions = world.tick()
    assert Emit("Normal", "StepStarted", "step 1: 5% to v2") in actions
    entry = world.status.history[-1]
    assert (entry.from_, entry.to, entry.time) == (
        "Pending 1/3 (0%)",
        "Progressing 1/3 (5%)",
        world.now,
    )
    assert world.status.step_started_at == world.now
    assert world.status.step_ends_at == world.now + 10 * MIN


def test_a_kill_between_status_and_route_writes_skips_no_exposure() -> None:
    world = World(spec=make_spec(steps=STEPS, analysis=None)).start()
    world.run(9 * MIN)
    world.now += MIN
    _commit_then_die(world)  # step 2 decided on; the route still says 5%
    assert world.status.step == "2/3" and world.router_weight == 5
    world.now += 3 * 10 * MIN  # down for longer than the dwell
    restart = world.now
    assert world.tick() == (SetWeight(25),), "the route is made to match the status first"
    assert world.status.step == "2/3"
    world.now += MIN
    world.tick()
    started = world.status.step_started_at
    assert started == restart + MIN and world.status.step_ends_at == started + 10 * MIN
    world.run(9 * MIN)
    assert world.status.step == "2/3" and world.router_weight == 25, "its full dwell at 25%"
    world.run(MIN)
    assert world.router_weight == 100
    reasons = [h.reason for h in world.status.history]
    assert reasons == ["Created", "StepStarted", "StepStarted"], "each step once"
    world.run(MIN)
    assert world.status.phase == "Succeeded"


def test_a_route_that_drifted_is_restored_before_the_step_ends() -> None:
    world = World(spec=make_spec(steps=STEPS, analysis=None)).start()
    world.run(5 * MIN)
    world.router_weight = 0  # the route lost its weight (edited, or restored from a backup)
    world.now += 10 * MIN  # the dwell is over
    actions = world.tick()
    assert actions == (SetWeight(5),) and world.status.step == "1/3"
    assert world.condition("Progressing") == ("True", "ApplyingWeight")
    world.now += MIN
    world.tick()
    assert world.status.step == "2/3" and world.router_weight == 25


def test_an_unknown_router_weight_holds_the_step() -> None:
    world = World(spec=make_spec(steps=STEPS, analysis=None)).start()
    world.router_weight = None  # e.g. the HTTPRoute not yet seen by a restarted operator
    world.now += 20 * MIN
    world.tick()
    assert world.status.step == "1/3"
    assert "shows unknown" in next(
        c.message for c in world.status.conditions if c.type == "Progressing"
    )


def test_a_zero_dwell_step_lasts_until_its_weight_is_read_back() -> None:
    steps = [{"weight": 5, "pause": {"duration": "0s"}}, {"weight": 100}]
    world = World(spec=make_spec(steps=steps, analysis=None))
    world.tick()
    assert world.router_weight == 5 and world.status.step == "1/2"
    world.now += MIN
    world.tick()  # 5% confirmed: the dwell of 0s is over at once
    assert world.router_weight == 100 and world.status.phase == "Progressing"
    world.now += MIN
    world.tick()
    assert world.status.phase == "Succeeded"
    assert [h.reason for h in world.status.history] == ["Created", "StepStarted", "Succeeded"]


def test_skip_while_applying_ends_the_dwell_once_the_weight_shows() -> None:
    world = World(spec=make_spec(steps=STEPS, analysis=None)).start()
    world.run(9 * MIN)
    world.now += MIN
    _commit_then_die(world)  # step 2 decided on; the route still says 5%
    world.request = "skip"
    world.tick()
    assert world.status.step == "2/3" and world.router_weight == 25
    world.now += MIN
    world.tick()  # 25% read back: the skipped dwell is over, the next step is entered
    assert world.router_weight == 100
    assert [h.reason for h in world.status.history][-1] == "StepStarted"
