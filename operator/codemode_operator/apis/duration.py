"""Go-style durations (`90s`, `30m`, `1h30m`), as the CRD's fields are written."""

import math
import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer

MAX_DURATION = timedelta(hours=720)  # the CRD's bound on every duration (30 days)
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> timedelta:
    """Parse a non-negative Go duration; raise ValueError naming the bad text."""
    if text == "0":
        return timedelta(0)
    seconds, position = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(f"invalid duration {text!r}: expected e.g. '90s', '30m', '1h30m'")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Whole seconds as `1h30m`, `12m`, `45s` (and `0s`), the way people read them."""
    total = max(0, round(value.total_seconds()))
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    text = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n)
    return text or "0s"


def format_remaining(value: timedelta) -> str:
    """Time left for people and printer columns, rounded up: to the minute once it is over two
    minutes, to 30 s below.

    Coarse on purpose: the status is rewritten only when it changes, so a to-the-second
    countdown cost one API write per rollout per tick while dwelling (at 500 rollouts with 20 s
    dwells, writes that queued the ticks ending dwells); at this grain a dwell of up to 30 s
    writes none, a long one one a minute. `stepEndsAt` has the exact time.
    """
    seconds = max(0, math.ceil(value.total_seconds()))
    grain = 60 if seconds > 120 else 30
    return format_duration(timedelta(seconds=grain * math.ceil(seconds / grain)))


def _coerce(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    Field(le=MAX_DURATION),
    PlainSerializer(format_duration),
]
