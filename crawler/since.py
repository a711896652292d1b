"""Parse ``--since`` values: a relative age (``2d``, ``12h``, ``1w``) or an ISO date."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["parse_since", "parse_timestamp"]

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """Return the aware UTC datetime a ``--since`` value stands for.

    Raises ``ValueError`` with a message naming the value when it can't be read.
    """
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(value)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    parsed = parse_timestamp(value)
    if parsed is None:
        msg = (f"can't read {value!r} as a time: use an age like 2d, 12h, 1w "
               "or a date like 2026-11-01 (ISO 8601)")
        raise ValueError(msg)
    return parsed


def parse_timestamp(value: str | None) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 or RFC 822 string, or None.

    Naive values are taken as UTC.
    """
    if not value:
        return None
    text = value.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime  # noqa: PLC0415

        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
