"""What the process remembers of each rollout (memory.py) stays bounded by the live rollouts: a
deleted rollout's entry is forgotten (handlers.forget), so churn does not grow it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from codemode_operator.handlers import forget
from codemode_operator.memory import Memory
from codemode_operator.reconciling import reconcile

from .fake_cluster import ROLLOUTS, ROUTES, FakeCluster
from .test_tick_commit import ROLLOUT, ROUTE

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
LOGGER = logging.getLogger("test.memory")


def test_only_a_deletion_forgets_a_rollout() -> None:
    memory = Memory()
    memory.of("uid-1").posted = 3
    memory.of("uid-2").posted = 1
    for type_ in ("ADDED", "MODIFIED", None):  # None: kopf's initial listing
        forget(memory, str(type_), "mcp", "a", "uid-1")
    assert memory.of("uid-1").posted == 3
    forget(memory, "DELETED", "mcp", "a", "uid-1")
    forget(memory, "DELETED", "mcp", "never-ticked", "uid-9")  # nothing to forget: no error
    assert len(memory) == 1 and memory.of("uid-2").posted == 1


async def test_rollouts_created_and_deleted_leave_nothing_behind() -> None:
    fake = FakeCluster()
    fake.api.put(ROUTES, ROUTE)
    for n in range(20):
        rollout = {**ROLLOUT, "metadata": {"name": "mcp", "uid": f"uid-{n}", "generation": 1}}
        fake.api.put(ROLLOUTS, rollout)
        assert await reconcile(fake.api.get(ROLLOUTS, "mcp"), fake.cluster(), LOGGER, T0)
        # The tick remembered its posted Event under the rollout's uid: one entry.
        assert len(fake.memory) == 1 and fake.memory.of(f"uid-{n}").posted == 1
        del fake.api.objects[(ROLLOUTS, "mcp")]
        forget(fake.memory, "DELETED", "mcp", "mcp", f"uid-{n}")
        assert len(fake.memory) == 0
