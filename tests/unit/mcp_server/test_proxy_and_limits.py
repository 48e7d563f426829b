from __future__ import annotations

import time

import pytest

from mcp_server.api_proxy import CapabilityTokens, Refused
from mcp_server.errors import ErrorKind
from mcp_server.limits import cap_json, cap_lines
from mcp_server.sandbox import Execution


def test_grant_caps_calls_and_expires() -> None:
    tokens = CapabilityTokens()
    grant = tokens.issue({"authorization": "Bearer user"}, timeout_seconds=0.2, max_calls=2)
    tokens.admit(grant.token)
    tokens.admit(grant.token)
    with pytest.raises(Refused) as capped:
        tokens.admit(grant.token)
    assert (capped.value.http_status, capped.value.kind) == (429, ErrorKind.USER)
    late = tokens.issue({}, timeout_seconds=0.05, max_calls=5)
    time.sleep(0.06)
    with pytest.raises(Refused) as expired:
        tokens.admit(late.token)
    assert (expired.value.http_status, expired.value.kind) == (401, ErrorKind.TIMEOUT)
    tokens.revoke(grant.token)
    with pytest.raises(Refused) as revoked:
        tokens.admit(grant.token)
    assert revoked.value.http_status == 401


def test_repeated_reads_are_polls_paced_and_capped_apart_from_calls() -> None:
    tokens = CapabilityTokens(poll_interval=3600.0)  # an hour: the test never waits it out
    grant = tokens.issue({}, timeout_seconds=60, max_calls=2, max_polls=2)
    assert tokens.admit(grant.token, "getDeployment a")[1] == 0.0  # a first read is a call
    _, wait = tokens.admit(grant.token, "getDeployment a")  # the same read again: a poll
    assert 3500 < wait <= 3600 and (grant.calls, grant.polls) == (1, 1)
    _, later = tokens.admit(grant.token, "getDeployment a")
    assert later > wait  # each poll is answered one interval after the one before
    with pytest.raises(Refused, match="poll cap of 2 repeated reads"):
        tokens.admit(grant.token, "getDeployment a")
    tokens.admit(grant.token)  # a write: a call; the call budget was not spent on waiting
    with pytest.raises(Refused, match="API-call cap of 2 calls"):
        tokens.admit(grant.token, "getDeployment b")


def test_execution_payload_holds_the_capability_token_only() -> None:
    tokens = CapabilityTokens()
    grant = tokens.issue({"authorization": "Bearer user-secret"}, 10, 5)
    payload = Execution("return 1", "sdk", grant.token, 10, 5).payload()
    assert payload["token"] == grant.token
    assert "user-secret" not in repr(payload)
    assert "user-secret" not in repr(grant)


def test_caps_mark_truncation_visibly() -> None:
    assert cap_json({"a": 1}, 100).truncated is False
    capped = cap_json("x" * 500, 100)
    assert capped.truncated and capped.value.endswith("[truncated: 100 of 502 bytes shown]")
    lines = cap_lines(["a" * 40] * 5, 100)
    assert lines.truncated and lines.value[-1] == "…[truncated: 3 more log lines]"
