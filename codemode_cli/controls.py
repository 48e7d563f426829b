"""Which manual control fits a rollout's state (docs/resource.md): checked before asking.

The operator refuses a request that does not fit too, but only asynchronously, in an event;
checking first lets the plugin say why at once and exit non-zero.
"""

from __future__ import annotations

from typing import Any

REQUESTS = ("promote", "skip", "abort", "retry")
ACTIVE = ("Progressing", "Paused")
ROLLED_BACK = ("RolledBack", "Aborted")
DONE = ("Succeeded", *ROLLED_BACK)


def phase(rollout: dict[str, Any]) -> str:
    return str(rollout.get("status", {}).get("phase") or "Pending")


def current_step(rollout: dict[str, Any]) -> dict[str, Any]:
    steps = rollout.get("spec", {}).get("steps") or []
    index = int(rollout.get("status", {}).get("stepIndex") or 0)
    return steps[index] if 0 <= index < len(steps) else {}


def refusal(rollout: dict[str, Any], control: str) -> str | None:
    """Why `control` does not fit now, or None when it does."""
    name = f'cmr "{rollout["metadata"]["name"]}"'
    status, spec, now = rollout.get("status", {}), rollout.get("spec", {}), phase(rollout)
    if control in ("promote", "skip") and now not in ACTIVE:
        return f"{name} is {now}: {control} applies only while Progressing or Paused"
    if control == "promote":
        if not (current_step(rollout).get("pause") or {}).get("untilApproved"):
            step = status.get("step", "?")
            return f"{name}: step {step} does not wait for approval (use skip to end its dwell)"
        if status.get("stepApproved"):
            return f"{name}: step {status.get('step', '?')} is already approved"
    if control == "abort" and now in ROLLED_BACK:
        return f"{name} is {now}: already on 100% v1"
    if control == "retry" and now not in ROLLED_BACK:
        return f"{name} is {now}: retry applies only after RolledBack or Aborted"
    if control == "pause":
        if spec.get("paused"):
            return f"{name} is already paused"
        if now in DONE:
            return f"{name} is {now}: there is nothing to pause"
    if control == "resume" and not spec.get("paused"):
        return f"{name} is not paused"
    return None
