"""Turns how an isolate run ended into the contract's answer and error kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox_runner.isolate import Ending, RawRun


@dataclass(frozen=True)
class Outcome:
    body: dict[str, Any]
    error_kind: str | None  # None when ok


def _error(kind: str, name: str, message: str) -> dict[str, Any]:
    return {"kind": kind, "name": name, "message": message, "origin": "runner"}


def _runner_error(run: RawRun, timeout: float, max_heap_mb: int, max_rss_mb: int) -> dict[str, Any]:
    match run.ending:
        case Ending.TIMEOUT:
            return _error("timeout", "TimeoutError", f"execution exceeded its {timeout:g} s limit")
        case Ending.HEAP:
            return _error(
                "user", "HeapLimitError", f"the code exhausted its {max_heap_mb} MiB heap"
            )
        case Ending.MEMORY:
            return _error("user", "MemoryLimitError", f"the code used more than {max_rss_mb} MiB")
        case Ending.STALLED:
            message = "the code awaited a promise that nothing can settle"
            return _error("user", "PromiseNeverSettled", message)
        case Ending.OUTPUT_FLOOD:
            return _error("user", "OutputLimitError", "the code wrote too much to stdout")
        case Ending.STOPPED:
            message = "the code stopped its own process (SIGSTOP); it was ended, not waited for"
            return _error("user", "ProcessStopped", message)
        case Ending.IDLE:
            message = (
                "the code used no CPU for a long time while waiting on nothing that could end "
                "(not in sleep() or an API call); it was ended to free its slot"
            )
            return _error("user", "IdleError", message)
        case Ending.BROKEN_FRAME:
            message = (
                f"the code broke the sandbox's runtime (its report was unreadable: {run.broken})"
            )
            return _error("user", "RuntimeTampered", message)
        case _:
            # The runtime reported ready, so an exit without a result was caused by the code
            # (process.exit, a crash it provoked); a broken runtime never gets a job.
            return _error(
                "user", "ProcessExit", f"the code ended its process (exit status {run.returncode})"
            )


def to_outcome(run: RawRun, timeout: float, max_heap_mb: int, max_rss_mb: int) -> Outcome:
    frame = run.frame
    body: dict[str, Any] = {
        "ok": frame is not None and frame.ok,
        "logs": run.logs,
        "truncated": frame is not None and frame.truncated,
        "durationMs": round(run.duration * 1000, 3),
    }
    if frame is not None and frame.ok:
        body["result"] = frame.result
        return Outcome(body, None)
    if frame is not None and frame.error is not None:
        # Reported from inside the isolate, where the code runs: the MCP server believes its
        # infra or api kind only when its api-proxy saw that failure.
        error = {**frame.error.model_dump(exclude_none=True), "origin": "isolate"}
    else:
        error = _runner_error(run, timeout, max_heap_mb, max_rss_mb)
    body["error"] = error
    return Outcome(body, error["kind"])


def infra_outcome(name: str, message: str) -> Outcome:
    body = {"ok": False, "error": _error("infra", name, message), "logs": [], "truncated": False}
    return Outcome(body | {"durationMs": 0.0}, "infra")
