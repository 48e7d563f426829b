"""What the plugin shows: the rollouts table and one rollout's status, as rich renderables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from codemode_operator.apis.status import Phase
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from codemode_cli.controls import phase
from codemode_cli.usage import KINDS, UsageReport

PHASE_STYLES: dict[Phase, str] = {  # Pending: unstyled
    "Progressing": "cyan",
    "Paused": "yellow",
    "Succeeded": "green",
    "RolledBack": "red",
    "Aborted": "red",
}
HISTORY_SHOWN = 5


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """kubectl's short ages: 45s, 12m, 5h, 3d."""
    if not timestamp:
        return "-"
    then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _phase_text(rollout: dict[str, Any]) -> Text:
    now = phase(rollout)
    return Text(now, style=PHASE_STYLES.get(now, ""))


def rollouts_table(rollouts: list[dict[str, Any]], all_namespaces: bool) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = ["NAME", "PHASE", "STEP", "V2-WEIGHT", "TIME-LEFT", "VERDICT", "AGE"]
    for column in (["NAMESPACE"] if all_namespaces else []) + columns:
        table.add_column(column, no_wrap=True)
    for rollout in rollouts:
        meta, status = rollout["metadata"], rollout.get("status", {})
        row = [
            meta["name"],
            _phase_text(rollout),
            status.get("step", "-"),
            str(status.get("canaryWeight", 0)),
            status.get("stepRemaining") or "-",
            status.get("verdict") or "-",
            age(meta.get("creationTimestamp")),
        ]
        table.add_row(*([meta["namespace"]] if all_namespaces else []), *row)
    return table


def _summary(rollout: dict[str, Any]) -> Table:
    meta, spec, status = rollout["metadata"], rollout.get("spec", {}), rollout.get("status", {})
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("Name", meta["name"]),
        ("Namespace", meta["namespace"]),
        ("Phase", _phase_text(rollout)),
        ("Step", status.get("step", "-")),
        ("V2 weight", f"{status.get('canaryWeight', 0)}%"),
        ("Time left", status.get("stepRemaining") or "-"),
        ("Step ends at", status.get("stepEndsAt") or "-"),
        *([("Verdict", status.get("verdict") or "-")] if spec.get("analysis") else []),
        ("Paused (spec)", str(bool(spec.get("paused"))).lower()),
        ("Attempt", str(status.get("attempt", "-"))),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


def _figure(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value if value is not None else "-")


def _analysis(analysis: dict[str, Any]) -> RenderableType:
    title = (
        f"Analysis: {analysis.get('verdict', '-')} (last check {analysis.get('lastCheckAt', '-')})"
    )
    counts = Table(title=title, title_justify="left")
    for column in ("version", "requests", "errors", "infraErrors", "since start"):
        counts.add_column(column)
    for version, key in (("v1", "stable"), ("v2", "canary")):
        last, total = analysis.get(key) or {}, analysis.get(f"{key}Total") or {}
        counts.add_row(
            version,
            *(_figure(last.get(field, 0)) for field in ("requests", "errors", "infraErrors")),
            f"{total.get('requests', 0)} req, {total.get('errors', 0)} err",
        )
    tests = Table(title="Sequential tests (v2 worse than v1?)", title_justify="left")
    for column in ("metric", "e-value", "fails at", "p-value", "verdict"):
        tests.add_column(column)
    for metric in ("errors", "infraErrors"):
        figures = analysis.get(metric) or {}
        if figures:
            keys = ("eValue", "threshold", "pValue", "verdict")
            tests.add_row(metric, *(_figure(figures.get(key)) for key in keys))
    return Group(counts, tests) if tests.row_count else counts


def _conditions(conditions: list[dict[str, Any]]) -> Table:
    table = Table(title="Conditions", title_justify="left")
    for column in ("type", "status", "reason", "message"):
        table.add_column(column)
    for condition in conditions:
        table.add_row(
            *(str(condition.get(key, "")) for key in ("type", "status", "reason", "message"))
        )
    return table


def status_view(rollout: dict[str, Any]) -> RenderableType:
    """Phase, step, weight and conditions first (what an SRE needs at a glance); the analysis'
    figures after them, and only for a rollout that has analysis configured."""
    status = rollout.get("status", {})
    parts: list[RenderableType] = [_summary(rollout), _conditions(status.get("conditions") or [])]
    if rollout.get("spec", {}).get("analysis") and status.get("analysis"):
        parts.append(_analysis(status["analysis"]))
    last = status.get("lastRequest")
    if last:
        parts.append(
            Text(
                f"Last request: {last.get('name')} {last.get('outcome')} {last.get('message', '')}"
            )
        )
    history = (status.get("history") or [])[-HISTORY_SHOWN:]
    if history:
        parts.append(Text("History", style="bold"))
    for entry in history:
        parts.append(
            Text(
                f"  {entry.get('time', '')} {entry.get('from', '')} -> {entry.get('to', '')}: "
                f"{entry.get('reason', '')}"
            )
        )
    return Group(*parts)


def _share(part: int, whole: int) -> str:
    return f"{part} {part / whole:.0%}" if whole else str(part)


def _plain_table(columns: tuple[str, ...]) -> Table:
    """kubectl's look: upper-case headers, no box, numbers right-aligned, nothing wrapped."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for position, column in enumerate(columns):
        table.add_column(column, no_wrap=True, justify="left" if position == 0 else "right")
    return table


def usage_view(report: UsageReport) -> RenderableType:
    """The seed's week-one table: per version the tool-call mix, ApiError rate, wall-timeouts;
    then the native-promotion candidates."""
    span = report.end - report.start
    title = Text(
        f'Usage in namespace "{report.namespace}", {report.start:%Y-%m-%d %H:%M} to '
        f"{report.end:%Y-%m-%d %H:%M} UTC ({span.total_seconds() / 3600:.1f} h)",
        style="bold",
    )
    table = _plain_table(
        ("VERSION", "CALLS", *(kind.upper() for kind in KINDS), "APIERROR-RATE", "WALL-TIMEOUTS")
    )
    for usage in report.versions:
        rate = usage.api_error_rate
        table.add_row(
            usage.version,
            str(usage.calls),
            *(_share(usage.by_kind.get(kind, 0), usage.calls) for kind in KINDS),
            "-" if rate is None else f"{rate:.1%}",
            str(usage.wall_timeouts),
        )
    if not report.versions:
        return Group(title, Text("no MCP tool calls in this range and namespace"))
    heading = Text(
        "Native-promotion candidates (v2: called most through execute, not natives)",
        style="bold",
    )
    if not report.candidates:
        return Group(title, table, Text(""), heading, Text("no calls through execute"))
    candidates = _plain_table(("OPERATION", "CALLS-THROUGH-EXECUTE", "OF-WHICH-4XX"))
    for candidate in report.candidates:
        candidates.add_row(candidate.operation, str(candidate.calls), str(candidate.client_errors))
    return Group(title, table, Text(""), heading, candidates)
