"""Incremental crawl state: what earlier runs archived and what feeds last said.

``open_state(url_or_path)`` gives the SQLite store (a path, the default, beside the output)
or the Redis one (``redis://…``, for distributed crawls).
"""

from crawler.state.model import ArticleState, SourceState, StateStore
from crawler.state.schedule import DEFAULT_SCHEDULE, next_check, parse_schedule
from crawler.state.sqlite import SQLiteState

__all__ = [
    "DEFAULT_SCHEDULE",
    "ArticleState",
    "SQLiteState",
    "SourceState",
    "StateStore",
    "next_check",
    "open_state",
    "parse_schedule",
]


def open_state(location: str) -> StateStore:
    """A ``redis://`` URL gives the Redis store; anything else is a SQLite file path."""
    if location.startswith(("redis://", "rediss://", "unix://")):
        from crawler.state.redis import RedisState  # noqa: PLC0415

        return RedisState(location)
    from pathlib import Path  # noqa: PLC0415

    return SQLiteState(Path(location))
