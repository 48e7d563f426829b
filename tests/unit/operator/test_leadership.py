"""The Controller condition each replica writes, and the leader election's settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from codemode_operator.adapters.lease import Leadership
from codemode_operator.apis.conditions import CONTROLLER, get_condition
from codemode_operator.leadership import update
from codemode_operator.rollout import RolloutStatus
from codemode_operator.settings import Settings

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
LEASE = "codemode-system/codemode-operator"
FORBIDDEN = '403 Forbidden: leases.coordination.k8s.io "codemode-operator" is forbidden'


def _state(identity: str, leading: bool, problem: str | None = None) -> Leadership:
    return Leadership(identity, LEASE, leading, identity if leading else None, problem)


def test_the_leader_names_itself_once() -> None:
    status = RolloutStatus()
    condition = update(status, _state("op-a", True), NOW)
    assert condition is not None and condition.status == "True"
    assert condition.reason == "Leading"
    assert condition.message == f"reconciled by op-a (lease {LEASE})"
    assert update(status, _state("op-a", True), NOW + timedelta(seconds=5)) is None


def test_a_takeover_renames_the_replica() -> None:
    status = RolloutStatus()
    update(status, _state("op-a", True), NOW)
    condition = update(status, _state("op-b", True), NOW)
    assert condition is not None and condition.message.startswith("reconciled by op-b ")


def test_a_standby_beside_a_leader_says_nothing() -> None:
    status = RolloutStatus()
    assert update(status, _state("op-b", False), NOW) is None
    update(status, _state("op-a", True), NOW)
    assert update(status, _state("op-b", False), NOW) is None
    # Even when it cannot use the lease itself: it cannot tell that the leader is gone.
    assert update(status, _state("op-b", False, FORBIDDEN), NOW) is None


def test_no_usable_lease_says_the_rollout_waits_for_a_leader() -> None:
    status = RolloutStatus()
    condition = update(status, _state("op-a", False, FORBIDDEN), NOW)
    assert condition is not None and condition.status == "False"
    assert condition.reason == "LeaseUnavailable"
    assert condition.message == f"waiting for a leader: lease {LEASE} cannot be used: {FORBIDDEN}"
    # Every standby writes the same words: the second has nothing to change.
    assert update(status, _state("op-b", False, FORBIDDEN), NOW) is None
    # A replica that lost the lease itself may say so over its own claim.
    status = RolloutStatus()
    update(status, _state("op-a", True), NOW)
    assert update(status, _state("op-a", False, FORBIDDEN), NOW) is not None
    assert get_condition(status, CONTROLLER).reason == "LeaseUnavailable"  # type: ignore[union-attr]


def test_lease_settings_default_to_the_pod_and_take_over_within_15_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAME", "codemode-operator-7c9d-x2x4k")
    monkeypatch.setenv("POD_NAMESPACE", "codemode-system")
    settings = Settings.from_args([])
    assert settings.lease == "codemode-operator"
    assert (settings.identity, settings.lease_namespace) == (
        "codemode-operator-7c9d-x2x4k",
        "codemode-system",
    )
    # The worst takeover after a crash: a lease duration after the last renewal seen, which is
    # at most a retry old, plus the standby's own poll.
    assert settings.lease_duration + 2 * settings.retry_period <= 15
    assert Settings.from_args(["--standalone"]).lease is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--retry-period=0.5"], "--retry-period must be at least 1 second"),
        (["--renew-deadline=1.5"], "--renew-deadline must be more than 1.2 x --retry-period"),
        (["--lease-duration=5"], "--lease-duration must be more than --renew-deadline"),
    ],
)
def test_lease_timings_that_cannot_work_are_refused(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        Settings.from_args(args)
    assert message in capsys.readouterr().err
