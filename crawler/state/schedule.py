"""The decaying re-fetch schedule of recent articles (``STATE_UPDATE_SCHEDULE``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

__all__ = ["DEFAULT_SCHEDULE", "next_check", "parse_schedule"]

DEFAULT_SCHEDULE = ("1h", "6h", "24h", "7d")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_schedule(values: Sequence[str]) -> list[timedelta]:
    """``["1h", "6h", "24h", "7d"]`` as increasing ages; ValueError names a bad entry."""
    ages = []
    for value in values:
        match = _AGE.match(str(value))
        if not match:
            msg = f"bad age {value!r} in the update schedule: use e.g. 30m, 6h, 7d, 2w"
            raise ValueError(msg)
        ages.append(timedelta(**{_UNITS[match.group(2)]: float(match.group(1))}))
    if ages != sorted(ages):
        msg = f"the update schedule must increase: {list(values)}"
        raise ValueError(msg)
    return ages


def next_check(base: datetime, schedule: Sequence[timedelta], after: datetime
               ) -> datetime | None:
    """The first ``base + age`` later than ``after``; None once the schedule is over."""
    for age in schedule:
        when = base + age
        if when > after:
            return when
    return None
