"""The CodeModeRollout operator: kopf handlers and adapters around a pure rollout core."""
