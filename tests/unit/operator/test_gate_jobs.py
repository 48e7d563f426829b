"""Gate Job names and labels: valid for the API server and distinct per gate, for any rollout name."""

import re

import pytest
from codemode_operator.adapters.jobs import job_body, job_name, rollout_label
from codemode_operator.rollout import RunGateJob

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
GATES = [
    RunGateJob(step=step, index=index, attempt=attempt, job={})
    for attempt in (1, 2, 12)
    for step in range(20)  # the CRD's limits: 20 steps of 5 gates
    for index in range(5)
]


def _long(length: int) -> str:
    """A valid rollout name (a DNS subdomain) of `length` characters, with dots and dashes."""
    return ("mcp-rollout.prod-" * 20)[: length - 1] + "x"


@pytest.mark.parametrize("length", [58, 63, 64, 253])
def test_long_rollout_names_give_distinct_dns_labels_per_attempt_step_and_gate(
    length: int,
) -> None:
    rollout = _long(length)
    names = [job_name(rollout, gate) for gate in GATES]
    assert all(len(name) <= 63 and DNS_LABEL.fullmatch(name) for name in names), names
    assert len(set(names)) == len(GATES)
    assert names[0].startswith("mcp-rollout-prod-")  # still says whose gate it is
    assert names[0].endswith("-a1-s1-g1")


def test_rollouts_sharing_a_long_prefix_get_different_names() -> None:
    gate = RunGateJob(step=0, index=0, attempt=1, job={})
    first, second = _long(100), _long(99) + "y"
    assert first[:90] == second[:90]
    assert job_name(first, gate) != job_name(second, gate)
    assert rollout_label(first) != rollout_label(second)


def test_short_names_are_kept_as_they_are_and_every_name_is_deterministic() -> None:
    gate = RunGateJob(step=1, index=2, attempt=3, job={})
    assert job_name("mcp", gate) == "mcp-a3-s2-g3"
    assert job_name("a" * 54, gate) == "a" * 54 + "-a3-s2-g3"  # exactly 63
    assert job_name("a" * 55, gate) != "a" * 55 + "-a3-s2-g3"
    assert job_name(_long(200), gate) == job_name(_long(200), gate)
    # A dot is no DNS label character: replaced, and the hash keeps it apart from mcp-v2's.
    dotted = job_name("mcp.v2", gate)
    assert re.fullmatch(r"mcp-v2-[0-9a-f]{8}-a3-s2-g3", dotted)
    assert dotted != job_name("mcp-v2", gate) == "mcp-v2-a3-s2-g3"


@pytest.mark.parametrize("length", [3, 63, 64, 253])
def test_the_job_labels_are_valid_label_values_and_select_it(length: int) -> None:
    rollout = _long(length)
    owner = {
        "apiVersion": "codemode.io/v1alpha1",
        "kind": "CodeModeRollout",
        "metadata": {"name": rollout, "uid": "u-1"},
    }
    job = job_body(owner, RunGateJob(step=0, index=1, attempt=2, job={"template": {}}))
    labels = job["metadata"]["labels"]
    assert all(len(v) <= 63 and LABEL_VALUE.fullmatch(v) for v in labels.values()), labels
    assert labels["codemode.io/rollout"] == rollout_label(rollout)
    assert (labels["codemode.io/rollout"] == rollout) == (length <= 63)
    assert (labels["codemode.io/attempt"], labels["codemode.io/step"]) == ("2", "0")
    assert job["metadata"]["name"] == job_name(rollout, RunGateJob(0, 1, 2, job={}))
    assert job["metadata"]["ownerReferences"][0]["uid"] == "u-1"
