"""Item pipelines and writers of newsarchive."""

from pipelines.dedup import CanonicalDedupPipeline
from pipelines.extract import ExtractPipeline, extract_article
from pipelines.filters import SinceFilterPipeline
from pipelines.text import ArticleWriterPipeline

__all__ = [
    "ArticleWriterPipeline",
    "CanonicalDedupPipeline",
    "ExtractPipeline",
    "SinceFilterPipeline",
    "extract_article",
]
