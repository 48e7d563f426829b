"""The CodeModeRollout's vocabulary, shared by the operator, the CLI and the metrics (as Argo
Rollouts' `pkg/apis`): the spec and status models, their phases and condition types.

Pure: pydantic and the standard library only (import-linter contracts in pyproject.toml), so the
`kubectl codemode` plugin imports it and nothing else of the operator."""
