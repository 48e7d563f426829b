"""The `search` tool without a server: matches with result fields, and browsing by tag."""

from __future__ import annotations

import pytest

from devcluster.specs import REAL_SPECS, SAMPLE_SPEC
from mcp_server.errors import ToolError
from mcp_server.openapi.loading import load_spec
from mcp_server.tools.base import CallContext
from mcp_server.tools.search import Search


@pytest.fixture(scope="module")
def sample() -> Search:
    return Search(load_spec(SAMPLE_SPEC), 5)


def test_a_match_shows_its_result_fields_with_their_docs(sample: Search) -> None:
    top = sample.find("get a deployment", 1).results[0]
    assert top.operationId == "getDeployment"
    assert top.returns.startswith("Deployment {")
    assert '  status: "queued" | "building" | "live" | "failed" | "cancelled";' in top.returns
    assert "  url?: string | null; // Public URL, set once the deployment is live" in top.returns


def test_lists_show_the_element_fields_and_envelopes_their_inside() -> None:
    koyeb = Search(load_spec(REAL_SPECS / "koyeb-openapi.yaml"), 5)
    service = next(m for m in koyeb.find("get service", 5).results if m.operationId == "GetService")
    assert service.returns.startswith("GetServiceReply.service: Service {")
    assert "  status?: ServiceStatus;" in service.returns
    assert all(len(match.returns) <= 1200 for match in koyeb.find("service", 20).results)


def test_result_fields_stay_within_the_budget() -> None:
    dokploy = Search(load_spec(REAL_SPECS / "coolify-openapi.yaml"), 5)
    for match in dokploy.find("application", 20).results:
        assert len(match.returns) <= 1200
        if "more fields" in match.returns:
            assert match.returns.endswith("more fields\n}")


def test_browsing_lists_tags_then_a_tags_operations(sample: Search) -> None:
    tags = sample.tags().tags
    assert tags and all(": " in line and line.endswith(" operations") for line in tags)
    tag = tags[0].split(":")[0]
    listed = sample.browse(tag).operations
    assert listed and all(line.count(": ") >= 1 for line in listed)
    assert sample.browse(tag.upper()).operations == listed  # tags match case-insensitively


async def test_browse_arguments_and_errors(sample: Search) -> None:
    context = CallContext(credentials={})
    listing = await sample.handle({}, context)
    assert listing.structured["tags"] and not listing.structured["results"]
    with pytest.raises(ToolError, match="no tag 'nope'"):
        await sample.handle({"tag": "nope"}, context)
    with pytest.raises(ToolError, match="not both"):
        await sample.handle({"query": "x", "tag": "y"}, context)
