"""The seed's week-one usage table, from Prometheus, per version and for one namespace.

- the tool-call distribution: search, execute, pollJob, natives (in v1 every tool is one);
- the ApiError rate: tool calls that ended in a backend 4xx (`error_kind="api"`), per call;
- wall-timeouts;
- the operations called most through `execute` that are not natives: the candidates the seed
  would "consider promoting back to native".

Counts are exact over the range, as the operator's analysis counts (docs/contracts.md): per
series the counter at the end minus the counter at the start; a series born inside the range
counts whole; one that reset falls back to `increase()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

CODE_MODE_TOOLS = ("search", "execute", "pollJob")
KINDS = (*CODE_MODE_TOOLS, "natives")
_DURATION = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

Sample = tuple[dict[str, str], float]
Query = Callable[[str], list[Sample]]


class UsageError(Exception):
    """A message for the person at the terminal."""


def parse_duration(text: str) -> timedelta:
    """`7d`, `36h`, `1h30m`: Prometheus' duration syntax (without ms and y)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UsageError(f"bad duration {text!r}: use e.g. 7d, 24h, 90m")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))


def counted(metric: str, matchers: str, seconds: int, by: str) -> str:
    """PromQL for the exact increase of a counter over the `seconds` before the query time."""
    series = f"{metric}{{{matchers}}}"
    window = f"{seconds}s"
    return (
        f"sum by ({by}) (({series} - {series} offset {window}) >= 0"
        f" or ({series} unless {series} offset {window})"
        f" or increase({series}[{window}]))"
    )


@dataclass(frozen=True)
class VersionUsage:
    version: str
    calls: int
    by_kind: dict[str, int]
    api_errors: int
    wall_timeouts: int

    @property
    def api_error_rate(self) -> float | None:
        return self.api_errors / self.calls if self.calls else None


@dataclass(frozen=True)
class Candidate:
    operation: str
    calls: int
    client_errors: int  # backend 4xx among them


@dataclass(frozen=True)
class UsageReport:
    namespace: str
    start: datetime
    end: datetime
    versions: list[VersionUsage]
    candidates: list[Candidate] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        for version, usage in zip(data["versions"], self.versions, strict=True):
            version["api_error_rate"] = usage.api_error_rate
        return data


def _kind(tool: str) -> str | None:
    if tool in CODE_MODE_TOOLS:
        return tool
    return None if tool == "unknown" else "natives"


def usage_report(
    query: Query, namespace: str, start: datetime, end: datetime, selector: str, top: int
) -> UsageReport:
    """`selector`: label matchers every series must have (default `namespace="<namespace>"`)."""
    seconds = max(1, int((end - start).total_seconds()))
    matchers = selector.strip().strip(",")
    joined = f"{matchers}, " if matchers else ""
    by_kind: dict[str, dict[str, int]] = {}
    for labels, value in query(counted("mcp_tool_calls_total", matchers, seconds, "version, tool")):
        kind = _kind(labels.get("tool", ""))
        counts = by_kind.setdefault(labels.get("version", "?"), dict.fromkeys(KINDS, 0))
        if kind is not None:
            counts[kind] += round(value)
    api = _by(
        query(counted("mcp_tool_calls_total", f'{joined}error_kind="api"', seconds, "version"))
    )
    calls = _by(query(counted("mcp_tool_calls_total", matchers, seconds, "version")))
    timeouts = _by(
        query(counted("mcp_execution_wall_timeouts_total", matchers, seconds, "version"))
    )
    versions = [
        VersionUsage(
            version=version,
            calls=calls.get(version, 0),
            by_kind=by_kind[version],
            api_errors=api.get(version, 0),
            wall_timeouts=timeouts.get(version, 0),
        )
        for version in sorted(by_kind)
    ]
    return UsageReport(namespace, start, end, versions, _candidates(query, joined, seconds, top))


def _by(samples: list[Sample], label: str = "version") -> dict[str, int]:
    return {labels.get(label, "?"): round(value) for labels, value in samples}


def _candidates(query: Query, joined: str, seconds: int, top: int) -> list[Candidate]:
    through = f'{joined}version="v2", via="execute"'
    calls = _by(query(counted("mcp_api_calls_total", through, seconds, "operation")), "operation")
    client = _by(
        query(
            counted("mcp_api_calls_total", f'{through}, status_class="4xx"', seconds, "operation")
        ),
        "operation",
    )
    natives = {
        labels.get("tool", "")
        for labels, _ in query(
            f'max by (tool) (max_over_time(mcp_native_tool_info{{{joined}version="v2"}}[{seconds}s]))'
        )
    }
    ranked = sorted(
        ((op, n) for op, n in calls.items() if op not in natives and n > 0),
        key=lambda item: (-item[1], item[0]),
    )
    return [Candidate(op, n, client.get(op, 0)) for op, n in ranked[:top]]


class PrometheusQueries:
    """Instant queries at one time against Prometheus' HTTP API."""

    def __init__(self, address: str, at: datetime, timeout: float = 30.0) -> None:
        self._url = address.rstrip("/") + "/api/v1/query"
        self._at = at
        self._timeout = timeout

    def __call__(self, promql: str) -> list[Sample]:
        try:
            answer = httpx.get(
                self._url,
                params={"query": promql, "time": f"{self._at.timestamp():.3f}"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise UsageError(f"cannot reach Prometheus at {self._url}: {exc}") from exc
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or body.get("status") != "success":
            detail = body.get("error") or answer.text[:200]
            raise UsageError(f"Prometheus answered HTTP {answer.status_code}: {detail}")
        return [(dict(item["metric"]), float(item["value"][1])) for item in body["data"]["result"]]


def time_range(since: str, until: str | None) -> tuple[datetime, datetime]:
    """`--since 7d [--until 2026-12-01T00:00:00Z]`: the range ending at `until` (default now)."""
    if until:
        try:
            end = datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError as exc:
            raise UsageError(
                f"bad --until {until!r}: use an ISO time, e.g. 2026-12-01T00:00Z"
            ) from exc
        end = end if end.tzinfo else end.replace(tzinfo=UTC)
    else:
        end = datetime.now(UTC)
    return end - parse_duration(since), end
