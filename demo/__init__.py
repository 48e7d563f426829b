"""`make demo`: the operator rolls real MCP servers from v1 to v2, twice, on a local stack."""
