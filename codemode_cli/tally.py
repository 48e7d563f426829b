"""What a run of tool calls adds up to: counts, latency percentiles, the commonest errors."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from codemode_cli.traffic import Outcome


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(frozen=True)
class Tally:
    total: int
    ok: int
    failed: int
    p50_ms: float
    p95_ms: float
    calls_by_tool: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)  # "tool: message" -> count

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Tally:
        millis = [o.seconds * 1000 for o in outcomes]
        ok = sum(o.ok for o in outcomes)
        errors = Counter(f"{o.tool}: {o.error}" for o in outcomes if not o.ok)
        return cls(
            total=len(outcomes),
            ok=ok,
            failed=len(outcomes) - ok,
            p50_ms=round(percentile(millis, 0.50), 1),
            p95_ms=round(percentile(millis, 0.95), 1),
            calls_by_tool=dict(Counter(o.tool for o in outcomes)),
            errors=dict(errors.most_common(5)),
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def error_summary(self) -> str:
        return "; ".join(f"{count}x {message}" for message, count in self.errors.items())
