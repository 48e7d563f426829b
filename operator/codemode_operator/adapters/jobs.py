"""Gate Jobs: a step may require Jobs (smoke, soak) to succeed before its weight is set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from codemode_operator.adapters.kube import Kube
from codemode_operator.rollout import GateJob, RunGateJob

ROLLOUT_LABEL = "codemode.io/rollout"


def job_name(rollout: str, action: RunGateJob) -> str:
    # Named per attempt, so a retried rollout runs its gates again.
    return f"{rollout}-a{action.attempt}-s{action.step + 1}-g{action.index + 1}"[:63].rstrip("-")


def job_body(
    owner: Mapping[str, Any], action: RunGateJob, spec: Mapping[str, Any]
) -> dict[str, Any]:
    meta = owner["metadata"]
    labels = {
        ROLLOUT_LABEL: meta["name"],
        "codemode.io/attempt": str(action.attempt),
        "codemode.io/step": str(action.step),
        "codemode.io/gate": str(action.index),
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
        "spec": dict(spec),
    }


def _result(job: Mapping[str, Any]) -> Literal["Running", "Succeeded", "Failed"]:
    for condition in job.get("status", {}).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return "Succeeded" if condition["type"] == "Complete" else "Failed"
    return "Running"


async def observe(kube: Kube, namespace: str, rollout: str, attempt: int) -> tuple[GateJob, ...]:
    selector = f"{ROLLOUT_LABEL}={rollout},codemode.io/attempt={attempt}"
    jobs = await kube.jobs(namespace, selector)
    return tuple(
        GateJob(
            step=int(j["metadata"]["labels"]["codemode.io/step"]),
            index=int(j["metadata"]["labels"]["codemode.io/gate"]),
            result=_result(j),
        )
        for j in jobs
    )
