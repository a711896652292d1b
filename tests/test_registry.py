"""``PerCrawler``: one object per crawler, built once, released with the crawler."""

from __future__ import annotations

import gc
import weakref

from scrapy.utils.test import get_crawler

from crawler.registry import PerCrawler


class Shared:
    pass


def test_one_object_per_crawler_built_once_and_dropped_with_it() -> None:
    registry: PerCrawler[Shared] = PerCrawler()
    built: list[object] = []

    def build(crawler: object) -> Shared:
        built.append(crawler)
        return Shared()

    first, second = get_crawler(), get_crawler()
    mine = registry.get(first, build)
    assert registry.get(first, build) is mine
    assert registry.get(second, build) is not mine
    assert built == [first, second]

    gone = weakref.ref(mine)
    del first, mine, built[:]
    gc.collect()
    assert gone() is None
