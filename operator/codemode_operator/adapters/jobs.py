"""Gate Jobs: a step may require Jobs (smoke, soak) to succeed before its weight is set."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from codemode_operator.adapters.kube import Kube
from codemode_operator.apis.names import ATTEMPT_LABEL, GATE_LABEL, ROLLOUT_LABEL, STEP_LABEL
from codemode_operator.rollout import GateJob, RunGateJob

# A Job's name is also its pods' `job-name` label value and a prefix of their host names: a DNS
# label. A rollout's name is a DNS subdomain (up to 253 characters, dots allowed).
_MAX = 63
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DIGEST = 8


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:_DIGEST]


def rollout_label(rollout: str) -> str:
    """The rollout's name as a label value: itself up to 63 characters, else cut and told apart
    from other long names by a hash of the whole name."""
    if len(rollout) <= _MAX:
        return rollout
    return f"{rollout[: _MAX - _DIGEST - 1].rstrip('-.')}-{_digest(rollout)}"


def job_name(rollout: str, action: RunGateJob) -> str:
    """`<rollout>-a<attempt>-s<step>-g<gate>`, or, when that is no DNS label, the rollout's name
    cut and a hash of the whole tuple before the same suffix: the suffix alone keeps one
    rollout's gates apart, the hash keeps apart rollouts whose names share the cut prefix."""
    # Named per attempt, so a retried rollout runs its gates again.
    suffix = f"-a{action.attempt}-s{action.step + 1}-g{action.index + 1}"
    if len(rollout) + len(suffix) <= _MAX and _DNS_LABEL.fullmatch(rollout):
        return rollout + suffix
    digest = _digest(rollout, action.attempt, action.step, action.index)
    prefix = rollout[: _MAX - len(suffix) - _DIGEST - 1].replace(".", "-").rstrip("-")
    return f"{prefix}-{digest}{suffix}"


def job_body(owner: Mapping[str, Any], action: RunGateJob) -> dict[str, Any]:
    meta = owner["metadata"]
    labels = {
        ROLLOUT_LABEL: rollout_label(meta["name"]),
        ATTEMPT_LABEL: str(action.attempt),
        STEP_LABEL: str(action.step),
        GATE_LABEL: str(action.index),
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(meta["name"], action),
            "labels": labels,
            # Owned by the rollout: deleting it garbage-collects its gate Jobs.
            "ownerReferences": [
                {
                    "apiVersion": owner["apiVersion"],
                    "kind": owner["kind"],
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": dict(action.job),
    }


def _result(job: Mapping[str, Any]) -> Literal["Running", "Succeeded", "Failed"]:
    for condition in job.get("status", {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return "Succeeded" if condition["type"] == "Complete" else "Failed"
    return "Running"


async def observe(kube: Kube, namespace: str, rollout: str, attempt: int) -> tuple[GateJob, ...]:
    selector = f"{ROLLOUT_LABEL}={rollout_label(rollout)},{ATTEMPT_LABEL}={attempt}"
    jobs = await kube.jobs(namespace, selector)
    return tuple(
        GateJob(
            step=int(j["metadata"]["labels"][STEP_LABEL]),
            index=int(j["metadata"]["labels"][GATE_LABEL]),
            result=_result(j),
        )
        for j in jobs
    )
