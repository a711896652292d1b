"""Item pipelines and writers of newsarchive.

The public names are imported lazily, so ``pipelines.storage`` or ``pipelines.warc`` can
be used without loading trafilatura and Scrapy's item machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "ArticleWriterPipeline",
    "CanonicalDedupPipeline",
    "ExtractPipeline",
    "SinceFilterPipeline",
    "extract_article",
]

_WHERE = {
    "ArticleWriterPipeline": "pipelines.text",
    "CanonicalDedupPipeline": "pipelines.dedup",
    "ExtractPipeline": "pipelines.extract",
    "SinceFilterPipeline": "pipelines.filters",
    "extract_article": "pipelines.extract",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    msg = f"module 'pipelines' has no attribute {name!r}"
    raise AttributeError(msg)
