"""Jobs for the tests: an execute that becomes a job, and polling many from one client."""

from __future__ import annotations

from typing import Any


def job_code(seconds: float, value: int) -> str:
    """Code that runs `seconds` (past the server's soft wait: a job) and returns `value`."""
    return f"await new Promise((r) => setTimeout(r, {round(seconds * 1000)})); return {value};"


async def poll_all(client: Any, jobs: dict[str, int], wait: float) -> list[str]:
    """Poll every job (id -> the value it returns); the ones that did not answer their value."""
    failed = []
    for job_id, value in jobs.items():
        polled = await client.call_tool("pollJob", {"jobId": job_id, "waitSeconds": wait})
        if polled.is_error or polled.structured_content.get("result") != value:
            failed.append(f"{job_id}: {polled.content}")
    return failed
