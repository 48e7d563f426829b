"""The SRE's command-line tools: smoke and soak checks of an MCP server, and `kubectl codemode`."""
