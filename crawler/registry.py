"""One shared object per running crawler, built on first use and gone with the crawler."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["PerCrawler"]

T = TypeVar("T")


class PerCrawler(Generic[T]):
    """The components of one crawl (the WARC recorder, the spider, the pipelines) share one
    object: ``registry.get(crawler, build)`` returns the crawler's, built by
    ``build(crawler)`` the first time. Crawlers are held weakly: a process may run several
    (tests, ``AsyncCrawlerProcess``) and each keeps its own."""

    def __init__(self) -> None:
        self._objects: weakref.WeakKeyDictionary[Crawler, T] = weakref.WeakKeyDictionary()

    def get(self, crawler: Crawler, build: Callable[[Crawler], T]) -> T:
        try:
            return self._objects[crawler]
        except KeyError:
            made = self._objects[crawler] = build(crawler)
            return made
