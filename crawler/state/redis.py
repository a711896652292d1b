"""The shared state store on Redis (``STATE_URL = "redis://host:6379/0"``).

Keys: ``<prefix>:a:<key>`` (a hash per article), ``<prefix>:alias:<alias>`` (the article
key), ``<prefix>:s:<url>`` (a hash per feed or sitemap), ``<prefix>:sources`` (a set).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import Any

from crawler.state.model import ArticleState, SourceState

__all__ = ["RedisState"]

_INT_FIELDS = {"warc_offset", "version", "checks"}


def _encode(values: dict[str, Any]) -> dict[str, str]:
    return {k: "" if v is None else str(v) for k, v in values.items() if k != "aliases"}


def _decode(cls: type, raw: dict[bytes, bytes]) -> Any:
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name == "aliases":
            continue
        value = raw.get(f.name.encode())
        text = value.decode() if value is not None else ""
        values[f.name] = (int(text) if text else None) if f.name in _INT_FIELDS else (
            text or None)
    if cls is ArticleState:
        values["version"] = values["version"] or 1
        values["checks"] = values["checks"] or 0
        values["status"] = values["status"] or "ok"
    return cls(**values)


class RedisState:
    def __init__(self, url: str, prefix: str = "newsarchive:state") -> None:
        import redis  # noqa: PLC0415

        self.client: Any = redis.Redis.from_url(url)
        self.prefix = prefix

    def article(self, key: str) -> ArticleState | None:
        target = self.client.get(f"{self.prefix}:alias:{key}")
        main = target.decode() if target else key
        raw = self.client.hgetall(f"{self.prefix}:a:{main}")
        return _decode(ArticleState, raw) if raw else None

    def put_articles(self, articles: Iterable[ArticleState]) -> None:
        pipe = self.client.pipeline(transaction=True)
        for article in articles:
            pipe.hset(f"{self.prefix}:a:{article.key}", mapping=_encode(asdict(article)))
            for alias in article.aliases:
                if alias != article.key:
                    pipe.set(f"{self.prefix}:alias:{alias}", article.key)
        pipe.execute()

    def source(self, url: str) -> SourceState | None:
        raw = self.client.hgetall(f"{self.prefix}:s:{url}")
        return _decode(SourceState, raw) if raw else None

    def put_sources(self, sources: Iterable[SourceState]) -> None:
        pipe = self.client.pipeline(transaction=True)
        for source in sources:
            pipe.hset(f"{self.prefix}:s:{source.url}", mapping=_encode(asdict(source)))
            pipe.sadd(f"{self.prefix}:sources", source.url)
        pipe.execute()

    def sources(self, site: str | None = None) -> list[SourceState]:
        found = []
        for url in self.client.smembers(f"{self.prefix}:sources"):
            source = self.source(url.decode())
            if source and (site is None or source.site == site):
                found.append(source)
        return found

    def close(self) -> None:
        self.client.close()
