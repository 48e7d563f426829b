"""Which versions' conversations are pinned, through a whole rollout (rollout/pins.py)."""

from datetime import timedelta

from codemode_operator.rollout import DeploymentState, Emit, ScaleStable, SetPins

from .world import World, make_spec, ready

V1, BOTH = ("v1",), ("v1", "v2")


def _pins_written(world: World) -> list[tuple[str, ...]]:
    return [a.versions for a in world.log if isinstance(a, SetPins)]


def test_v2_is_pinned_while_it_takes_new_conversations_and_dropped_with_the_rollback() -> None:
    world = World(canary_error_rate=0.10, stable_error_rate=0.01)
    world.tick()
    assert world.status.canary_weight == 5 and world.router_pins == BOTH
    assert world.condition("SessionsPinned") == ("True", "Pinned")
    world.run_until("RolledBack", limit=timedelta(minutes=30))
    assert world.router_weight == 0 and world.router_pins == V1
    assert _pins_written(world) == [BOTH, V1]  # never rewritten while unchanged


def test_pending_pins_v1_only_and_abort_drops_v2_at_once() -> None:
    world = World(canary=None)
    world.tick()
    assert world.status.phase == "Pending" and world.router_pins == V1
    world.canary = ready()
    world.tick()
    assert world.router_pins == BOTH
    world.request = "abort"
    actions = world.tick()
    assert world.status.phase == "Aborted" and SetPins(V1) in actions


def test_v1_drains_at_100_percent_until_it_is_scaled_down() -> None:
    world = World(spec=make_spec(steps=[{"weight": 100}], scaleDownStable={"after": "1h"}))
    world.tick()
    world.tick()  # 100% read back: Succeeded
    assert world.status.phase == "Succeeded" and world.router_weight == 100
    assert world.router_pins == BOTH  # v1's conversations finish on v1
    world.run(timedelta(minutes=59))
    assert world.router_pins == BOTH
    world.run(timedelta(minutes=2))
    actions = world.log[-20:]
    assert world.router_pins == ("v2",) and ScaleStable("mcp-v1", 0) in actions
    # The pin goes before v1 does: the route is written first in that tick.
    tick = next(a for a in reversed(world.log) if isinstance(a, SetPins))
    assert world.log.index(tick) < world.log.index(ScaleStable("mcp-v1", 0))


def test_the_replicas_router_cannot_pin_and_says_so_once() -> None:
    world = World(spec=make_spec(router={"type": "replicas", "replicas": {"total": 4}}))
    world.tick()
    world.run(timedelta(minutes=5))
    assert world.router_pins == () and _pins_written(world) == []
    assert world.condition("SessionsPinned") == ("False", "RouterCannotPin")
    warnings = [a for a in world.log if isinstance(a, Emit) and a.reason == "RouterCannotPin"]
    assert len(warnings) == 1 and warnings[0].type == "Warning"
    assert "tools differ" in warnings[0].message


def test_the_replicas_router_with_one_declared_tool_surface_is_not_warned() -> None:
    same = DeploymentState(**{**ready().model_dump(), "tool_surface": "code-mode"})
    world = World(
        spec=make_spec(router={"type": "replicas", "replicas": {"total": 4}}),
        canary=same,
        stable=same,
    )
    world.tick()
    assert world.condition("SessionsPinned") == ("False", "SameToolSurface")
    assert not [a for a in world.log if isinstance(a, Emit) and a.reason == "RouterCannotPin"]
