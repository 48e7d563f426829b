"""A failing tick says so on the rollout: a ReconcileError condition, set once per failure."""

from datetime import UTC, datetime, timedelta

from codemode_operator.reconciling import failure_conditions

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
HEALTHY = {"type": "Healthy", "status": "True", "reason": "Ready", "message": "v2 is Ready"}


def test_a_failure_adds_the_condition_and_keeps_the_others() -> None:
    error = OverflowError("date value out of range")
    conditions = failure_conditions([HEALTHY], error, T0)
    assert conditions is not None
    assert conditions[0] == HEALTHY
    assert conditions[1] == {
        "type": "ReconcileError",
        "status": "True",
        "reason": "TickFailed",
        "message": "OverflowError: date value out of range",
        "lastTransitionTime": "2026-12-02T06:00:00Z",
    }


def test_the_same_failure_again_changes_nothing_and_a_new_one_keeps_its_time() -> None:
    first = failure_conditions(None, IndexError("list index out of range"), T0)
    assert first is not None
    assert (
        failure_conditions(first, IndexError("list index out of range"), T0 + timedelta(1)) is None
    )
    second = failure_conditions(first, ValueError("bad\n  input"), T0 + timedelta(1))
    assert second is not None
    assert (second[0]["message"], second[0]["lastTransitionTime"]) == (
        "ValueError: bad input",
        "2026-12-02T06:00:00Z",
    )
