"""Which manual control fits a rollout's state, checked before asking: the operator's own rules
(codemode_operator/apis/controls.py) read from the rollout as the API server returns it.

The operator refuses a request that does not fit too, but only asynchronously, in an event;
checking first lets the plugin say why at once and exit non-zero.
"""

from __future__ import annotations

from typing import Any, cast

from codemode_operator.apis import controls
from codemode_operator.apis.status import Phase


def phase(rollout: dict[str, Any]) -> Phase:
    return cast(Phase, rollout.get("status", {}).get("phase") or "Pending")


def current_step(rollout: dict[str, Any]) -> dict[str, Any]:
    steps = rollout.get("spec", {}).get("steps") or []
    index = int(rollout.get("status", {}).get("stepIndex") or 0)
    return steps[index] if 0 <= index < len(steps) else {}


def state(rollout: dict[str, Any]) -> controls.ControlState:
    status, spec = rollout.get("status", {}), rollout.get("spec", {})
    return controls.ControlState(
        phase=phase(rollout),
        step=str(status.get("step", "?")),
        waits_for_approval=bool((current_step(rollout).get("pause") or {}).get("untilApproved")),
        approved=bool(status.get("stepApproved")),
        paused=bool(spec.get("paused")),
    )


def refusal(rollout: dict[str, Any], control: controls.Control) -> str | None:
    """Why `control` does not fit now, or None when it does."""
    why = controls.refusal(control, state(rollout))
    return None if why is None else f'cmr "{rollout["metadata"]["name"]}": {why}'
