"""The README's install commands, as the staging tier runs them and the demo layers its values on."""

from __future__ import annotations

from pathlib import Path

from devcluster.install_doc import doc_commands, with_values


def test_extra_values_come_after_the_readmes_own_for_that_release_only() -> None:
    operator, mcp, get = doc_commands()
    extra = {"codemode-mcp": [Path("demo/values/codemode-mcp.yaml")]}
    assert with_values(mcp, extra) == [*mcp, "--values", "demo/values/codemode-mcp.yaml"]
    assert with_values(operator, extra) == operator
    assert with_values(get, {"get": [Path("x.yaml")]}) == get  # only `helm install` takes values
