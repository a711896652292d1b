"""Exceptions of the storage layer; messages name the output URI, never a secret."""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = [
    "DISK_FULL_ERRNOS",
    "DiskFull",
    "InvalidKey",
    "PublishFailed",
    "StorageConfigError",
    "StorageError",
    "StorageUnavailable",
    "is_disk_full",
]

# no space left, a file size limit (RLIMIT_FSIZE, a filesystem's largest file), a quota
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """True for an ``OSError`` saying the disk (or a size limit or quota) is full."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


class StorageError(Exception):
    """Base class of every storage error."""


class StorageConfigError(StorageError, ValueError):
    """The output URI or a storage option is invalid (a user error, fix and rerun)."""


class InvalidKey(StorageError, ValueError):
    """An object key or one of its components is unsafe."""


class StorageUnavailable(StorageError):
    """The store cannot be used right now: unreachable, missing bucket, bad credentials."""


class PublishFailed(StorageError):
    """A closed file could not be published; it stays in the staging directory."""

    def __init__(self, message: str, *, key: str, location: str) -> None:
        super().__init__(message)
        self.key = key
        self.location = location


class DiskFull(StorageError, OSError):
    """A write failed because the disk under ``path`` is full (ENOSPC, EFBIG, EDQUOT);
    what was written before is kept, the crawl stops with the storage exit status."""

    def __init__(self, path: Path | str, cause: OSError) -> None:
        reason = cause.strerror or str(cause)
        super().__init__(cause.errno, f"disk full at {path} ({reason})")
        self.path = str(path)
        self.cause = cause

    def __str__(self) -> str:
        return str(self.strerror)
