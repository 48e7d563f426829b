"""The PromQL of one analysis check: the exact-count defaults or the spec's templates, filled in."""

from datetime import UTC, datetime, timedelta

from codemode_operator.adapters.prometheus import queries
from codemode_operator.apis.spec import Analysis
from codemode_operator.rollout import Window

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
PROMETHEUS = {"address": "http://prometheus:9090"}


def _window(seconds: float) -> Window:
    return Window(start=T0, end=T0 + timedelta(seconds=seconds))


def _exact(series: str, window: str) -> str:
    return f"sum(({series} - {series} offset {window}) >= 0 or increase({series}[{window}]))"


def test_the_defaults_count_exactly_per_version_with_the_selector() -> None:
    analysis = Analysis.model_validate({"prometheus": PROMETHEUS, "selector": ',namespace="mcp"'})
    found = queries(analysis, "v2", _window(60))
    counter = 'mcp_tool_calls_total{version="v2"'
    assert found == {
        "requests": _exact(f'{counter},namespace="mcp"}}', "60000ms"),
        "errors": _exact(f'{counter},outcome="error",namespace="mcp"}}', "60000ms"),
        "infra_errors": _exact(f'{counter},error_kind="infra",namespace="mcp"}}', "60000ms"),
    }


def test_the_window_is_in_whole_milliseconds_and_never_empty() -> None:
    analysis = Analysis.model_validate({"prometheus": PROMETHEUS})
    assert "offset 1501ms" in queries(analysis, "v1", _window(1.5006))["requests"]
    assert "offset 1ms" in queries(analysis, "v1", _window(0))["requests"]


def test_a_template_is_filled_by_plain_replacement_and_the_others_stay_default() -> None:
    template = 'sum(increase(http_total{app="mcp",v="{version}"{selector}}[{window}]))'
    analysis = Analysis.model_validate(
        {"prometheus": PROMETHEUS, "selector": ',env="prod"', "queries": {"requests": template}}
    )
    found = queries(analysis, "v1", _window(90))
    assert found["requests"] == 'sum(increase(http_total{app="mcp",v="v1",env="prod"}[90000ms]))'
    assert found["errors"] == _exact(
        'mcp_tool_calls_total{version="v1",outcome="error",env="prod"}', "90000ms"
    )
