"""How a run's ending maps onto the contract's answer and error kind."""

from __future__ import annotations

import pytest

from sandbox_runner.frames import FrameError, ResultFrame, parse_frame
from sandbox_runner.isolate import Ending, RawRun
from sandbox_runner.outcome import infra_outcome, to_outcome


def _outcome(run: RawRun) -> tuple[dict[str, object], str | None]:
    outcome = to_outcome(run, timeout=2, max_heap_mb=64, max_rss_mb=256)
    return outcome.body, outcome.error_kind


def test_ok_result() -> None:
    frame = ResultFrame(t="result", ok=True, result=[1])
    run = RawRun(Ending.RESULT, frame=frame, logs=["hi"], duration=0.0123)
    body, kind = _outcome(run)
    assert kind is None
    assert body == {
        "ok": True,
        "result": [1],
        "logs": ["hi"],
        "truncated": False,
        "durationMs": 12.3,
    }


def test_error_reported_by_the_shim_is_kept() -> None:
    error = {"kind": "api", "name": "ApiError", "message": "m", "status": 404, "operationId": "x"}
    frame = ResultFrame.model_validate({"t": "result", "ok": False, "error": error})
    body, kind = _outcome(RawRun(Ending.RESULT, frame=frame))
    assert kind == "api"
    assert body["error"] == {**error, "origin": "isolate"}  # the MCP server checks what it claims


@pytest.mark.parametrize(
    "raw",
    [
        b'"a string"',  # Object.prototype.toJSON made the whole frame a string
        b'{"t": "result", "ok": false, "error": "boom"}',
        b'{"t": "result", "ok": false, "error": {"kind": "timeout", "name": "E", "message": ""}}',
        b'{"t": "result", "ok": false, "error": {"kind": "weird", "name": "E", "message": ""}}',
        b'{"t": "result", "ok": true}{',
        b'{"t": "result", "ok": true, "error": {"kind": "user", "name": "E", "message": ""}}',
        b'{"t": "log", "line": 7}',
        b'{"t": "exit"}',
        b"\xff\xfe",
        b"[" * 100_000,
    ],
)
def test_malformed_frames_are_refused(raw: bytes) -> None:
    with pytest.raises(FrameError):
        parse_frame(raw)


def test_a_refused_frame_is_the_codes_error() -> None:
    body, kind = _outcome(RawRun(Ending.BROKEN_FRAME, broken="frame: not an object"))
    assert kind == "user"
    assert body["error"]["name"] == "RuntimeTampered"  # type: ignore[index]


def test_lone_surrogates_become_replacement_characters() -> None:
    frame = parse_frame(b'{"t": "log", "line": "a\\ud800b \\ud83d\\ude00"}')
    assert frame.line == "a\ufffdb \U0001f600"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("ending", "kind", "name"),
    [
        (Ending.TIMEOUT, "timeout", "TimeoutError"),
        (Ending.HEAP, "user", "HeapLimitError"),
        (Ending.MEMORY, "user", "MemoryLimitError"),
        (Ending.OUTPUT_FLOOD, "user", "OutputLimitError"),
        (Ending.STALLED, "user", "PromiseNeverSettled"),
        (Ending.EXITED, "user", "ProcessExit"),
    ],
)
def test_runner_side_endings(ending: Ending, kind: str, name: str) -> None:
    body, error_kind = _outcome(RawRun(ending, logs=["before"]))
    assert error_kind == kind
    assert body["ok"] is False
    assert body["error"]["name"] == name  # type: ignore[index]
    assert body["logs"] == ["before"]  # logs written before the end survive


def test_timeout_message_names_the_limit() -> None:
    body, _ = _outcome(RawRun(Ending.TIMEOUT))
    assert "2 s" in body["error"]["message"]  # type: ignore[index]


def test_infra_outcome() -> None:
    outcome = infra_outcome("RunnerError", "boom")
    assert outcome.error_kind == "infra"
    assert outcome.body["error"] == {
        "kind": "infra",
        "name": "RunnerError",
        "message": "boom",
        "origin": "runner",
    }
