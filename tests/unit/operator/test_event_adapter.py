"""Event names and bodies: the same outbox record always makes the same Event."""

from datetime import UTC, datetime

from codemode_operator.adapters.events import event_body, event_name
from codemode_operator.apis.status import EventRecord

ROLLOUT = {
    "apiVersion": "codemode.io/v1alpha1",
    "kind": "CodeModeRollout",
    "metadata": {"name": "mcp", "namespace": "team", "uid": "0b7c-uid"},
}
RECORD = EventRecord(
    seq=3,
    time=datetime(2026, 12, 2, 6, 0, tzinfo=UTC),
    type="Warning",
    reason="RolledBack",
    message="errors: v2 worse",
)


def test_names_are_deterministic_per_rollout_and_seq() -> None:
    assert event_name("mcp", "a", 3) == event_name("mcp", "a", 3)
    assert (
        len({event_name("mcp", "a", 3), event_name("mcp", "b", 3), event_name("mcp", "a", 4)}) == 3
    )
    assert len(event_name("x" * 253, "a", 10**9)) <= 253


def test_the_body_names_the_rollout_and_the_transition() -> None:
    body = event_body(ROLLOUT, RECORD)
    assert body["metadata"]["name"] == event_name("mcp", "0b7c-uid", 3)
    assert body["involvedObject"] == {
        "apiVersion": "codemode.io/v1alpha1",
        "kind": "CodeModeRollout",
        "name": "mcp",
        "namespace": "team",
        "uid": "0b7c-uid",
    }
    assert (body["type"], body["reason"], body["message"]) == (
        "Warning",
        "RolledBack",
        "errors: v2 worse",
    )
    assert body["firstTimestamp"] == body["lastTimestamp"] == "2026-12-02T06:00:00Z"
