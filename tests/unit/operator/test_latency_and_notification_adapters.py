"""The adapters' pure parts for latency and notifications: the histogram query, the URL list."""

from codemode_operator.adapters import notifications, prometheus


def test_the_histogram_query_counts_exactly_per_edge_and_scopes_tools() -> None:
    query = prometheus.latency_query("v2", "execute|pollJob", "60012ms", ',namespace="mcp"')
    series = (
        'mcp_tool_call_duration_seconds_bucket{version="v2",tool=~"execute|pollJob",'
        'namespace="mcp"}'
    )
    assert query == (
        f"sum by (le)(({series} - {series} offset 60012ms) >= 0 or increase({series}[60012ms]))"
    )
    every = prometheus.latency_query("v1", "", "1000ms", "")
    assert 'bucket{version="v1"}' in every and "tool=~" not in every


def test_apprise_urls_one_per_line_or_separated_and_comments_dropped() -> None:
    text = "# team channel\nslack://a/b/c/#rollouts\n\njson://hook:8080/x, jsons://h/y  # pager\n"
    assert notifications.parse_urls(text) == [
        "slack://a/b/c/#rollouts",
        "json://hook:8080/x",
        "jsons://h/y",
    ]
    assert notifications.parse_urls("  \n# nothing\n") == []
