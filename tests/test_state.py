"""The state store contract, on SQLite and on a real Redis; the update schedule."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.state import (
    ArticleState,
    SourceState,
    StateStore,
    next_check,
    open_state,
    parse_schedule,
)
from crawler.state.redis import RedisState
from tests.redisserver import RedisServer, redis_server  # noqa: F401


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    if request.param == "sqlite":
        state = open_state(str(tmp_path / "state.sqlite"))
    else:
        server: RedisServer = request.getfixturevalue("redis_server")
        state = RedisState(server.url, prefix=f"test:{uuid.uuid4().hex}")
    yield state
    state.close()


def test_articles_round_trip_with_aliases(store: StateStore) -> None:
    assert store.article("https://n.example/a") is None
    article = ArticleState(key="https://n.example/a", url="https://n.example/a?x=1",
                           site="n", first_capture="2026-11-20T10:00:00+00:00",
                           last_capture="2026-11-20T10:00:00+00:00",
                           published="2026-11-20T09:00:00+01:00", text_digest="sha1:ab",
                           warc_file="f.warc.gz", warc_offset=123, warc_record_id="<urn:x>",
                           version=2, checks=1, next_check="2026-11-21T10:00:00+00:00",
                           aliases=("https://n.example/amp/a", "https://n.example/a"))
    store.put_articles([article])
    for key in ("https://n.example/a", "https://n.example/amp/a"):
        found = store.article(key)
        assert found is not None
        assert (found.key, found.warc_offset, found.version, found.checks) == (
            "https://n.example/a", 123, 2, 1)
        assert found.next_check == "2026-11-21T10:00:00+00:00"
    article.version = 3
    store.put_articles([article])
    found = store.article("https://n.example/amp/a")
    assert found is not None and found.version == 3


def test_sources_round_trip(store: StateStore) -> None:
    store.put_sources([SourceState("https://n.example/rss", "n", etag='"v1"',
                                   last_modified="Tue, 17 Nov 2026 10:00:00 GMT",
                                   last_fetch="2026-11-20T10:00:00+00:00",
                                   last_new="2026-11-19T10:00:00+00:00"),
                       SourceState("https://m.example/rss", "m")])
    found = store.source("https://n.example/rss")
    assert found is not None and found.etag == '"v1"'
    assert found.last_modified == "Tue, 17 Nov 2026 10:00:00 GMT"
    assert [s.url for s in store.sources("n")] == ["https://n.example/rss"]
    assert len(store.sources()) == 2
    assert store.source("https://nowhere.example/") is None


def test_schedule() -> None:
    schedule = parse_schedule(["1h", "6h", "24h", "7d"])
    base = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert next_check(base, schedule, base) == base + timedelta(hours=1)
    assert next_check(base, schedule, base + timedelta(hours=2)) == base + timedelta(hours=6)
    assert next_check(base, schedule, base + timedelta(days=8)) is None
    with pytest.raises(ValueError, match="'soon'"):
        parse_schedule(["soon"])
    with pytest.raises(ValueError, match="increase"):
        parse_schedule(["6h", "1h"])
