"""One set of control rules: the operator and `kubectl codemode` read the same facts from the
same rollout, so they refuse the same controls with the same words."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from codemode_operator.apis.controls import REQUESTS, refusal
from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import PHASES, RolloutStatus
from codemode_operator.rollout import Observations, decide
from codemode_operator.rollout.sre_requests import control_state
from codemode_operator.rollout.tick import Tick

from codemode_cli import controls as cli

from ..rollout.world import T0, make_spec

MANUAL = {"weight": 5, "pause": {"untilApproved": True}}
TIMED = {"weight": 5, "pause": {"duration": "1h"}}
CASES = list(itertools.product(PHASES, (MANUAL, TIMED), (False, True), (False, True)))


def _rollout(phase: str, step: dict[str, Any], approved: bool, paused: bool) -> dict[str, Any]:
    spec = make_spec(steps=[step, {"weight": 100}], paused=paused).to_dict()
    status = {"phase": phase, "stepIndex": 0, "step": "1/2", "stepApproved": approved}
    return {"metadata": {"name": "mcp"}, "spec": spec, "status": status}


@pytest.mark.parametrize(("phase", "step", "approved", "paused"), CASES)
def test_the_operator_and_the_plugin_see_the_same_state(
    phase: str, step: dict[str, Any], approved: bool, paused: bool
) -> None:
    rollout = _rollout(phase, step, approved, paused)
    spec = RolloutSpec.model_validate(rollout["spec"])
    status = RolloutStatus.model_validate(rollout["status"])
    tick = Tick(spec, status, Observations(generation=1), T0)
    operator = control_state(tick)
    assert operator == cli.state(rollout)
    for control in (*REQUESTS, "pause", "resume"):
        said = cli.refusal(rollout, control)
        why = refusal(control, operator)
        assert said == (None if why is None else f'cmr "mcp": {why}')


@pytest.mark.parametrize(("phase", "step", "approved", "paused"), CASES)
def test_the_operator_refuses_exactly_what_the_plugin_refuses(
    phase: str, step: dict[str, Any], approved: bool, paused: bool
) -> None:
    rollout = _rollout(phase, step, approved, paused)
    for request in REQUESTS:
        spec = RolloutSpec.model_validate(rollout["spec"])
        status = RolloutStatus.model_validate(rollout["status"])
        observations = Observations(generation=1, request=request)
        new = decide(spec, status, observations, T0).status
        record = new.last_request
        assert record is not None and record.name == request
        said = cli.refusal(rollout, request)
        assert (record.outcome == "Refused") == (said is not None), (request, record)
        if said is not None:
            assert said == f'cmr "mcp": {record.message}'


def test_unknown_requests_are_refused_by_name() -> None:
    rollout = _rollout("Progressing", TIMED, False, False)
    spec = RolloutSpec.model_validate(rollout["spec"])
    status = RolloutStatus.model_validate(rollout["status"])
    new = decide(spec, status, Observations(generation=1, request="pause"), T0).status
    assert new.last_request is not None and new.last_request.outcome == "Refused"
    assert new.last_request.message == "unknown request; use one of promote, skip, abort, retry"
