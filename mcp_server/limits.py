"""Size caps on what goes back to the model, with a visible truncation marker."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TRUNCATION_MARKER = "…[truncated: {shown} of {total} bytes shown]"


@dataclass(frozen=True)
class Capped:
    value: Any
    truncated: bool


def cap_json(value: Any, max_bytes: int) -> Capped:
    """Keep `value` if its JSON fits; otherwise return its JSON text cut, with the marker."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return Capped(value, False)
    shown = encoded[:max_bytes].decode(errors="ignore")
    return Capped(shown + TRUNCATION_MARKER.format(shown=max_bytes, total=len(encoded)), True)


def cap_lines(lines: Sequence[str], max_bytes: int) -> Capped:
    kept: list[str] = []
    used = 0
    for position, line in enumerate(lines):
        size = len(line.encode())
        if used + size > max_bytes:
            kept.append(f"…[truncated: {len(lines) - position} more log lines]")
            return Capped(kept, True)
        kept.append(line)
        used += size
    return Capped(kept, False)
