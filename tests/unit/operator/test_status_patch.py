"""The status write is a JSON merge patch: what the core clears must really disappear."""

from __future__ import annotations

from codemode_operator.adapters.resource import status_patch

from .fake_cluster import merge


def test_a_nested_field_cleared_by_the_core_is_removed() -> None:
    old = {
        "phase": "Progressing",
        "analysis": {"windowStart": "t0", "metricsUnavailableSince": "t1"},
    }
    new = {"phase": "Progressing", "analysis": {"windowStart": "t2"}}
    patch = status_patch(old, new)
    assert patch == {"analysis": {"windowStart": "t2", "metricsUnavailableSince": None}}
    assert merge(old, patch) == new


def test_lists_are_replaced_and_unchanged_fields_are_not_sent() -> None:
    old = {"step": "1/4", "history": [{"to": "a"}], "lastRequest": {"name": "skip"}}
    new = {"step": "1/4", "history": [{"to": "a"}, {"to": "b"}]}
    patch = status_patch(old, new)
    assert patch == {"history": [{"to": "a"}, {"to": "b"}], "lastRequest": None}
    assert merge(old, patch) == new
    assert status_patch(new, new) == {}
