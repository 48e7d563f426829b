"""The Code Mode MCP server: v1 (classic) and v2 (Code Mode) from one OpenAPI document."""
