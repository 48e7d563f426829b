from datetime import timedelta

import pytest
from codemode_operator.apis.duration import format_duration, format_remaining, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2h", timedelta(hours=2)),
        ("168h", timedelta(days=7)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("0", timedelta(0)),
    ],
)
def test_parses_go_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "1d", "-5m", "5 m", "m", "1h30", "h1", "1h-5m"])
def test_rejects_what_go_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=12), "12m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(0), "0s"),
    ],
)
def test_formats_for_people(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


@pytest.mark.parametrize(
    ("left", "shown"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=0.2), "30s"),
        (timedelta(seconds=30), "30s"),
        (timedelta(seconds=31), "1m"),
        (timedelta(seconds=61), "1m30s"),
        (timedelta(seconds=119), "2m"),
        (timedelta(seconds=121), "3m"),
        (timedelta(minutes=59, seconds=59), "1h"),
        (timedelta(hours=1, minutes=29, seconds=1), "1h30m"),
    ],
)
def test_time_left_is_rounded_up_to_30s_and_to_the_minute_past_two_minutes(
    left: timedelta, shown: str
) -> None:
    assert format_remaining(left) == shown
