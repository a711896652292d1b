"""Storage for the archive: stage locally, publish closed files to a directory or S3.

``open_store(uri)`` picks ``LocalStore`` or ``S3Store`` from the output URI; a
``Publisher`` over it is what writers use. Scrapy-free: blocking calls, to be run in a
thread by the Scrapy side.
"""

from __future__ import annotations

from pipelines.storage.errors import (
    DISK_FULL_ERRNOS,
    DiskFull,
    InvalidKey,
    PublishFailed,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
    is_disk_full,
)
from pipelines.storage.journal import JOURNAL_NAME, PendingEntry, PendingJournal
from pipelines.storage.layout import KINDS, check_key, join_key, object_key, relative_key
from pipelines.storage.options import S3Options
from pipelines.storage.s3 import S3Store
from pipelines.storage.staging import PendingReport, Publisher
from pipelines.storage.store import LocalStore, PublishResult, Store
from pipelines.storage.uri import OutputURI, parse_uri, validate_bucket_name

__all__ = [
    "DISK_FULL_ERRNOS",
    "JOURNAL_NAME",
    "KINDS",
    "DiskFull",
    "InvalidKey",
    "LocalStore",
    "OutputURI",
    "PendingEntry",
    "PendingJournal",
    "PendingReport",
    "PublishFailed",
    "PublishResult",
    "Publisher",
    "S3Options",
    "S3Store",
    "StorageConfigError",
    "StorageError",
    "StorageUnavailable",
    "Store",
    "check_key",
    "is_disk_full",
    "join_key",
    "object_key",
    "open_store",
    "parse_uri",
    "relative_key",
    "validate_bucket_name",
]


def open_store(uri: str | OutputURI, options: S3Options | None = None) -> Store:
    """A ``LocalStore`` for a path or ``file://`` URI, an ``S3Store`` for ``s3://``."""
    parsed = uri if isinstance(uri, OutputURI) else parse_uri(uri)
    if parsed.is_s3:
        return S3Store(parsed.bucket, parsed.prefix, options)
    assert parsed.path is not None
    return LocalStore(parsed.path)
