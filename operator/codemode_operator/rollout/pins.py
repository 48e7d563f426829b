"""Pinned conversations: which versions keep their own clients, whatever the weight says.

The MCP servers give every client a pin naming their version (a signed `Mcp-Session-Id`, or a
`codemode-version` cookie for sessionless clients: docs/mcp_server.md), and the gatewayAPI
router puts one rule per pinned version ahead of the weighted rule. So the weight is the share
of *new* conversations sent to v2, and a conversation stays on the version it started on:
- v2 is pinned while it takes new conversations (weight > 0). Rollback and abort set the
  weight to 0 and drop v2's pin in the same tick: v2's conversations reach v1, are refused once
  (404 / VERSION_CHANGED) and start again there;
- v1 is pinned until it is scaled down after success (`scaleDownStable`): at 100% its
  conversations drain on v1 (new ones all go to v2), and are moved the tick v1 goes.
The replicas router splits requests between pods and cannot pin: it gets no pins, and a warning
when the two versions' tool surfaces differ (or are not declared the same).
"""

from codemode_operator.apis import conditions
from codemode_operator.apis.conditions import SESSIONS_PINNED
from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import RolloutStatus

from .actions import SetPins
from .observations import DeploymentState, Observations
from .tick import Tick
from .weight import desired

STABLE_VERSION, CANARY_VERSION = "v1", "v2"  # the `version` the servers put in pins and metrics
CANNOT_PIN = "RouterCannotPin"


def pinned(spec: RolloutSpec, status: RolloutStatus) -> tuple[str, ...]:
    """The versions whose conversations the router keeps on them, in rule order."""
    if spec.router.type != "gatewayAPI":
        return ()
    weight = desired(spec, status)
    drained = status.phase == "Succeeded" and status.stable_scaled_down_at is not None
    stable = () if drained else (STABLE_VERSION,)
    return (*stable, *((CANARY_VERSION,) if weight > 0 else ()))


def sync(spec: RolloutSpec, status: RolloutStatus, observed: Observations) -> SetPins | None:
    """Write the pins only when the router shows others (None: unknown, written)."""
    pins = pinned(spec, status)
    return SetPins(pins) if observed.router_pins != pins else None


def _surface(deployment: DeploymentState | None) -> str | None:
    return deployment.tool_surface if deployment is not None else None


def describe(t: Tick) -> None:
    """The SessionsPinned condition; a Warning event when the router cannot keep conversations."""
    if t.spec.router.type == "gatewayAPI":
        message = (
            "conversations stay on their version (Mcp-Session-Id, codemode-version cookie); "
            "the weight is the share of new conversations sent to v2"
        )
        conditions.set_condition(t.status, SESSIONS_PINNED, True, "Pinned", message, t.now)
        return
    stable, canary = _surface(t.observations.stable), _surface(t.observations.canary)
    if stable is not None and stable == canary:
        message = f"the replicas router splits requests; both versions serve tools {stable!r}"
        conditions.set_condition(
            t.status, SESSIONS_PINNED, False, "SameToolSurface", message, t.now
        )
        return
    message = (
        "the replicas router splits requests, not conversations: a client session meets v1 "
        "and v2, whose tools differ (declared: "
        f"{stable or 'none'} / {canary or 'none'}), and fails; use router gatewayAPI"
    )
    before = conditions.get_condition(t.status, SESSIONS_PINNED)
    if before is None or before.reason != CANNOT_PIN:
        t.emit(CANNOT_PIN, message, "Warning")
    conditions.set_condition(t.status, SESSIONS_PINNED, False, CANNOT_PIN, message, t.now)
