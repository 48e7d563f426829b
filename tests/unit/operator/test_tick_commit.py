"""One tick's orchestration: the status commit, guarded by the resourceVersion the tick started
from, is what lets its actions run (reconciling.py). In-memory fakes (fake_cluster.py) and the
real core: first with the real adapters on a fake API server, then on fakes of the adapter
interfaces."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from codemode_operator.adapters.routers.gateway_api import route_pins, route_weight
from codemode_operator.apis.names import REQUEST_ANNOTATION
from codemode_operator.reconciling import reconcile, run
from codemode_operator.rollout import RolloutStatus, SetPins, SetWeight

from .fake_cluster import ROLLOUTS, ROUTES, FakeCluster, FakeRollout, FakeRouter

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
LOGGER = logging.getLogger("test.tick")
ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "mcp"},
    "spec": {"rules": [{"backendRefs": [{"name": "mcp-v1", "port": 80, "weight": 100}]}]},
}
ROLLOUT = {
    "apiVersion": "codemode.io/v1alpha1",
    "kind": "CodeModeRollout",
    "metadata": {"name": "mcp", "uid": "uid-1", "generation": 1},
    "spec": {
        "stable": {"deployment": "mcp-v1", "service": "mcp-v1"},
        "canary": {"deployment": "mcp-v2", "service": "mcp-v2"},
        "router": {"type": "gatewayAPI", "gatewayAPI": {"httpRoute": "mcp"}},
        "steps": [{"weight": 5, "pause": {"duration": "1h"}}, {"weight": 100}],
    },
}


def _weight(fake: FakeCluster) -> int | None:
    return route_weight(fake.api.get(ROUTES, "mcp"), "mcp-v1", "mcp-v2")


async def _tick(fake: FakeCluster, body: dict[str, Any], now: datetime) -> RolloutStatus | None:
    return await reconcile(body, fake.cluster(), LOGGER, now)


async def _tick_latest(fake: FakeCluster, now: datetime = T0) -> RolloutStatus | None:
    """A tick on the stored copy (kopf's watch caught up)."""
    return await _tick(fake, fake.api.get(ROLLOUTS, "mcp"), now)


async def _dwelling() -> FakeCluster:
    """A rollout at step 1, its 5% shown by the route."""
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    fake.api.put(ROLLOUTS, ROLLOUT)
    await _tick_latest(fake)  # decides step 1 and writes its weight
    status = await _tick_latest(fake)  # reads it back: the step starts
    assert status is not None and status.step_started_at == T0
    assert _weight(fake) == 5
    fake.api.writes.clear()
    return fake


async def test_the_commit_comes_first_and_carries_the_version_the_tick_started_from() -> None:
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    body = fake.api.put(ROLLOUTS, ROLLOUT)
    status = await _tick(fake, body, T0)
    assert status is not None and status.phase == "Progressing"
    calls = [(call, name) for call, name, _ in fake.api.writes]
    assert calls == [
        ("patch_status", "mcp"),  # the decision
        ("replace", "mcp"),  # its weight (the watched copy has no resourceVersion: read, replace)
        ("patch", "mcp"),  # its pins, guarded by the weight write's answer
    ]
    [decision] = fake.api.status_writes()
    assert decision["metadata"] == {"resourceVersion": body["metadata"]["resourceVersion"]}
    # The posted Event leaves the outbox with the next status write, not with one of its own.
    outbox = fake.api.get(ROLLOUTS, "mcp")["status"]["events"]["outbox"]
    assert [r["reason"] for r in outbox] == ["Created"]
    route = fake.api.get(ROUTES, "mcp")
    assert (route_weight(route, "mcp-v1", "mcp-v2"), route_pins(route, "mcp-v1", "mcp-v2")) == (
        5,
        ("v1", "v2"),
    )
    assert [e["reason"] for e in fake.api.events] == ["Created"]


async def test_a_stale_copy_is_refused_and_none_of_its_actions_run() -> None:
    fake = await _dwelling()
    stale = fake.api.annotate(ROLLOUTS, "mcp", REQUEST_ANNOTATION, "abort")
    fake.api.annotate(ROLLOUTS, "mcp", "team", "search")  # a later write the copy has not seen
    stored, events = fake.api.get(ROLLOUTS, "mcp"), list(fake.api.events)

    assert await _tick(fake, stale, T0 + timedelta(seconds=5)) is None
    # The abort's status write was tried with the copy's version and refused ...
    [(call, _, refused)] = fake.api.refused
    assert call == "patch_status"
    assert refused["metadata"] == {"resourceVersion": stale["metadata"]["resourceVersion"]}
    assert refused["status"]["phase"] == "Aborted"
    # ... so nothing of that tick happened: no weight 0, no pin change, the request still there.
    assert fake.api.writes == []
    assert fake.api.get(ROLLOUTS, "mcp") == stored
    assert _weight(fake) == 5
    assert fake.api.events == events and fake.kopf_events == []

    # The next tick, on the fresh copy, applies the request once.
    status = await _tick_latest(fake, T0 + timedelta(seconds=6))
    assert status is not None and status.phase == "Aborted"
    assert _weight(fake) == 0
    assert REQUEST_ANNOTATION not in fake.api.get(ROLLOUTS, "mcp")["metadata"]["annotations"]


GATED = {
    **ROLLOUT,
    "spec": {
        **ROLLOUT["spec"],
        "steps": [
            {"weight": 5, "pause": {"duration": "1h"}},
            {"weight": 100, "gates": [{"name": "smoke", "job": {"template": {"spec": {}}}}]},
        ],
    },
}


async def test_the_commit_carries_the_version_the_tick_started_from_not_the_live_bodys() -> None:
    # kopf updates the live body in place while a tick awaits (here: the gate Jobs' list).
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    body = fake.api.put(ROLLOUTS, GATED)
    start = body["metadata"]["resourceVersion"]

    def newer_copy() -> None:
        body["metadata"]["resourceVersion"] = str(int(start) + 1)

    fake.kube.while_listing = newer_copy
    assert await _tick(fake, body, T0) is not None
    [decision] = fake.api.status_writes()
    assert decision["metadata"] == {"resourceVersion": start}


async def test_a_tick_whose_copy_moved_on_while_it_ran_is_refused() -> None:
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    body = fake.api.put(ROLLOUTS, GATED)
    start = body["metadata"]["resourceVersion"]

    def someone_writes() -> None:  # and the watch brings it into the live body
        moved = fake.api.annotate(ROLLOUTS, "mcp", "team", "search")
        body["metadata"]["resourceVersion"] = moved["metadata"]["resourceVersion"]

    fake.kube.while_listing = someone_writes
    assert await _tick(fake, body, T0) is None
    [(call, _, refused)] = fake.api.refused
    assert call == "patch_status" and refused["metadata"] == {"resourceVersion": start}
    assert fake.api.writes == [] and _weight(fake) == 0  # none of its actions ran


async def test_a_failed_action_keeps_the_commit_and_is_done_by_the_next_tick() -> None:
    fake = FakeCluster()
    fake.api.put(ROLLOUTS, ROLLOUT)  # the HTTPRoute is not there yet
    status = await _tick_latest(fake)
    assert status is not None
    stored = fake.api.get(ROLLOUTS, "mcp")["status"]
    assert (stored["phase"], stored["canaryWeight"]) == ("Progressing", 5)
    assert "applying" in stored  # decided, not yet shown by the router
    assert [(t, r) for t, r, _ in fake.kopf_events] == [
        ("Warning", "ActionFailed"),
        ("Warning", "ActionFailed"),
    ]
    assert fake.kopf_events[0][2].startswith("SetWeight(weight=5): (404)")
    assert fake.kopf_events[1][2].startswith("SetPins(versions=('v1', 'v2')): (404)")
    assert [e["reason"] for e in fake.api.events] == ["Created"]  # the rest of the tick ran

    fake.api.put(ROUTES, ROUTE)
    await _tick_latest(fake, T0 + timedelta(seconds=5))
    assert _weight(fake) == 5  # re-derived from the status: the weight is written again


async def test_an_unchanged_status_is_not_written_and_its_leftover_events_still_go_out() -> None:
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    fake.api.put(ROLLOUTS, ROLLOUT)
    fake.api.fail_events = True  # the Events stay in the status' outbox
    for _ in range(2):
        await _tick_latest(fake)
    fake.api.writes.clear()
    status = await _tick_latest(fake)  # the same moment: nothing to decide
    assert status is not None and status.step_started_at == T0
    assert fake.api.writes == []
    queued = [r["reason"] for r in fake.api.get(ROLLOUTS, "mcp")["status"]["events"]["outbox"]]
    assert queued == ["Created", "StepStarted"]

    fake.api.fail_events = False
    body = fake.api.get(ROLLOUTS, "mcp")
    assert await _tick(fake, body, T0) is not None
    assert [e["reason"] for e in fake.api.events] == ["Created", "StepStarted"]
    assert fake.api.status_writes() == []  # no decision: no write of the outbox's alone
    assert await _tick(fake, body, T0) is not None  # the same copy: posted already, not again
    assert [e["reason"] for e in fake.api.events] == ["Created", "StepStarted"]
    # While the dwell runs their removal alone is no write (rollout/events.py) ...
    assert await _tick(fake, body, T0 + timedelta(seconds=20)) is not None
    assert fake.api.status_writes() == []
    # ... the next write there is (here the time left, down to the last minute) drops them,
    # guarded by the copy it started from.
    assert await _tick(fake, body, T0 + timedelta(minutes=59)) is not None
    assert fake.api.status_writes() == [
        {
            "status": {"stepRemaining": "1m", "events": {"outbox": []}},
            "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]},
        }
    ]


async def test_an_unchanged_status_on_a_stale_copy_posts_each_event_once_and_trims_nothing() -> (
    None
):
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    # Held for approval: no dwell whose end would take the posted records out, so they go at once.
    manual = [{"weight": 5, "pause": {"untilApproved": True}}, {"weight": 100}]
    fake.api.put(ROLLOUTS, {**ROLLOUT, "spec": {**ROLLOUT["spec"], "steps": manual}})
    fake.api.fail_events = True
    for _ in range(3):
        await _tick_latest(fake)
    fake.api.fail_events = False
    stale = fake.api.get(ROLLOUTS, "mcp")
    fake.api.annotate(ROLLOUTS, "mcp", "team", "search")
    fake.api.writes.clear()
    await _tick(fake, stale, T0)
    await _tick(fake, stale, T0)  # the watch still lags: the same copy again
    assert [e["reason"] for e in fake.api.events] == ["Created", "StepStarted"]  # once each
    # The first posted them; the second's trim of the outbox was refused: a stale copy never
    # drops a record.
    assert fake.api.writes == [] and len(fake.api.refused) == 1
    await _tick_latest(fake)
    assert fake.api.get(ROLLOUTS, "mcp")["status"]["events"]["outbox"] == []


async def _succeeded() -> FakeCluster:
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    fake.api.put(ROLLOUTS, {**ROLLOUT, "spec": {**ROLLOUT["spec"], "steps": [{"weight": 100}]}})
    for _ in range(3):  # the third drops the posted Events from the outbox
        await _tick_latest(fake)
    assert fake.api.get(ROLLOUTS, "mcp")["status"]["phase"] == "Succeeded"
    assert _weight(fake) == 100
    fake.api.writes.clear()
    fake.api.unchanged.clear()
    return fake


async def test_an_unchanged_status_that_acts_is_guarded_by_an_empty_commit() -> None:
    fake = await _succeeded()
    route = fake.api.get(ROUTES, "mcp")
    route["spec"]["rules"][0]["backendRefs"] = [{"name": "mcp-v1", "port": 80, "weight": 100}]
    fake.api.put(ROUTES, route)  # a hand edit: all traffic to v1
    body = fake.api.get(ROLLOUTS, "mcp")
    assert await _tick(fake, body, T0 + timedelta(seconds=5)) is not None
    assert fake.api.unchanged == [
        (
            "patch_status",
            "mcp",
            {"status": {}, "metadata": {"resourceVersion": body["metadata"]["resourceVersion"]}},
        )
    ]  # asked, accepted, nothing written
    assert fake.api.status_writes() == []
    assert _weight(fake) == 100  # the router follows the status again


async def test_a_stale_copy_whose_status_would_not_change_still_acts_on_nothing() -> None:
    """Succeeded keeps its status while it puts the router back to 100%: on a copy from before
    an abort that would undo the abort's weight 0, so such a tick is guarded too."""
    fake = await _succeeded()
    succeeded = fake.api.get(ROLLOUTS, "mcp")
    fake.api.annotate(ROLLOUTS, "mcp", REQUEST_ANNOTATION, "abort")
    aborted = await _tick_latest(fake, T0 + timedelta(seconds=5))
    assert aborted is not None and aborted.phase == "Aborted" and _weight(fake) == 0
    fake.api.writes.clear()

    assert await _tick(fake, succeeded, T0 + timedelta(seconds=6)) is None
    assert fake.api.writes == []
    assert _weight(fake) == 0


# The orchestrator alone (`reconciling.run`), on fakes of its adapter interfaces: the rollout's
# own object (`Resource`) and its router.


async def _run(
    rollout: FakeRollout, router: FakeRouter, fake: FakeCluster, now: datetime = T0
) -> RolloutStatus | None:
    """A tick on the rollout as stored now."""
    return await run(rollout.copy(), lambda _spec: router, fake.cluster(), LOGGER, now)


def _progressing_at_5() -> list[SetWeight | SetPins]:
    return [SetWeight(5), SetPins(("v1", "v2"))]


async def test_a_refused_commit_drops_every_action_of_its_tick() -> None:
    fake, router, rollout = FakeCluster(), FakeRouter(), FakeRollout(ROLLOUT)
    stale = rollout.copy()
    rollout.moved()  # someone's write after the tick's copy was taken
    assert await run(stale, lambda _spec: router, fake.cluster(), LOGGER, T0) is None
    [(patch, guarded)] = rollout.commits
    assert guarded and patch["phase"] == "Progressing" and rollout.refused == 1
    assert "status" not in rollout.stored
    assert router.writes == [] and rollout.posted == [] and rollout.events == []
    assert fake.memory.of("uid-1").posted == 0

    status = await _run(rollout, router, fake)  # the fresh copy: committed, then acted on
    assert status is not None and status.phase == "Progressing"
    assert router.writes == _progressing_at_5()
    assert rollout.posted == [(1, "Created")]


async def test_a_failed_action_is_an_event_and_the_next_tick_does_it_again() -> None:
    fake, rollout = FakeCluster(), FakeRollout(ROLLOUT)
    router = FakeRouter(fail=RuntimeError("route unreachable"))
    status = await _run(rollout, router, fake)
    assert status is not None and rollout.stored["status"]["phase"] == "Progressing"
    assert rollout.events == [
        ("Warning", "ActionFailed", "SetWeight(weight=5): route unreachable"),
        ("Warning", "ActionFailed", "SetPins(versions=('v1', 'v2')): route unreachable"),
    ]
    assert rollout.posted == [(1, "Created")]  # the rest of the tick ran

    router.fail = None
    await _run(rollout, router, fake, T0 + timedelta(seconds=5))
    assert router.writes == _progressing_at_5()  # re-derived from the committed status


async def test_an_unchanged_status_commits_nothing_unless_the_tick_acts() -> None:
    fake, router = FakeCluster(), FakeRouter()
    rollout = FakeRollout({**ROLLOUT, "spec": {**ROLLOUT["spec"], "steps": [{"weight": 100}]}})
    for _ in range(3):  # decides 100%, reads it back (Succeeded), drops the posted Events
        await _run(rollout, router, fake)
    assert rollout.stored["status"]["phase"] == "Succeeded" and router.weight == 100
    rollout.commits.clear()
    await _run(rollout, router, fake)
    assert rollout.commits == []  # nothing to decide, nothing to do: no call at all

    router.weight = 0  # a hand edit: all traffic to v1
    router.writes.clear()
    version = rollout.stored["metadata"]["resourceVersion"]
    stale = rollout.copy()
    rollout.moved()
    assert await run(stale, lambda _spec: router, fake.cluster(), LOGGER, T0) is None
    assert rollout.commits == [({}, True)] and rollout.refused == 1 and router.writes == []

    assert await _run(rollout, router, fake) is not None
    assert rollout.commits[-1] == ({}, True)  # asked, accepted, nothing written
    assert rollout.stored["metadata"]["resourceVersion"] == str(int(version) + 1)
    assert router.writes == [SetWeight(100)]  # the router follows the status again
