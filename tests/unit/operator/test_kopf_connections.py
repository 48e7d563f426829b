"""kopf's connection limit leaves room for every watch it holds, or is off when uncountable."""

from codemode_operator.__main__ import KOPF_CALLS, _kopf_connections


def test_every_watch_has_a_connection_beside_the_calls() -> None:
    assert _kopf_connections(()) == 3 + 2 + KOPF_CALLS  # all namespaces: one watch per kind
    assert _kopf_connections(("a", "b")) == 2 * 3 + 2 + KOPF_CALLS


def test_namespace_patterns_get_no_limit() -> None:
    assert _kopf_connections(("team-*",)) == 0
    assert _kopf_connections(("a", "!b")) == 0
