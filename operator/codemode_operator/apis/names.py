"""The resource's names on the wire: what the operator, `kubectl codemode` and the charts address
it by, and the annotations and labels the operator reads and writes (docs/resource.md)."""

GROUP = "codemode.io"
VERSION = "v1alpha1"
API_VERSION = "codemode.io/v1alpha1"
KIND = "CodeModeRollout"
PLURAL = "codemoderollouts"

# On the rollout: an SRE request (apis/controls.py), removed once the operator recorded it.
REQUEST_ANNOTATION = "codemode.io/request"
# On a Deployment's pod template: the MCP tool surface its pods serve (`classic`, `code-mode`).
TOOL_SURFACE_ANNOTATION = "codemode.io/tool-surface"
# On an Event the operator posted: its seq in the rollout's Events outbox.
EVENT_SEQ_ANNOTATION = "codemode.io/event-seq"

# On a gate Job: whose, of which attempt, step and gate it is (what the next tick looks up).
ROLLOUT_LABEL = "codemode.io/rollout"
ATTEMPT_LABEL = "codemode.io/attempt"
STEP_LABEL = "codemode.io/step"
GATE_LABEL = "codemode.io/gate"
