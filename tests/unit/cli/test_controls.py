"""Which manual control fits which state, the percentiles and the ages the tools print."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from codemode_cli.controls import refusal
from codemode_cli.tally import percentile
from codemode_cli.views import age

MANUAL = [{"weight": 5, "pause": {"untilApproved": True}}, {"weight": 100}]
TIMED = [{"weight": 5, "pause": {"duration": "1h"}}, {"weight": 100}]


def _rollout(phase: str, steps: list[dict[str, Any]] = TIMED, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "mcp"},
        "spec": {"steps": steps, **spec},
        "status": {"phase": phase, "stepIndex": 0, "step": "1/2"},
    }


@pytest.mark.parametrize(
    ("rollout", "control", "why"),
    [
        (_rollout("Progressing", MANUAL), "promote", None),
        (_rollout("Progressing"), "promote", "does not wait for approval"),
        (_rollout("Succeeded", MANUAL), "promote", "applies only while Progressing or Paused"),
        (_rollout("Paused"), "skip", None),
        (_rollout("Aborted"), "skip", "applies only while"),
        (_rollout("Succeeded"), "abort", None),
        (_rollout("RolledBack"), "abort", "all traffic is on v1"),
        (_rollout("RolledBack"), "retry", None),
        (_rollout("Progressing"), "retry", "retry applies only after RolledBack or Aborted"),
        (_rollout("Progressing"), "pause", None),
        (_rollout("Paused", paused=True), "pause", "already paused"),
        (_rollout("Succeeded"), "pause", "nothing to pause"),
        (_rollout("Paused", paused=True), "resume", None),
        (_rollout("Progressing"), "resume", 'cmr "mcp": not paused'),
    ],
)
def test_refusal(rollout: dict[str, Any], control: str, why: str | None) -> None:
    said = refusal(rollout, control)
    assert said is None if why is None else why in (said or "")


def test_promote_refused_once_approved() -> None:
    rollout = _rollout("Progressing", MANUAL)
    rollout["status"]["stepApproved"] = True
    assert "already approved" in (refusal(rollout, "promote") or "")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50.0, 95.0)
    assert percentile([], 0.5) == 0.0 and percentile([7.0], 0.95) == 7.0


def test_age_reads_like_kubectl() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert age("2026-11-29T11:59:15Z", now) == "45s"
    assert age("2026-11-29T11:30:00Z", now) == "30m"
    assert age("2026-11-28T12:00:00Z", now) == "24h"
    assert age(None, now) == "-"
