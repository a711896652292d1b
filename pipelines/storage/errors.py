"""Exceptions of the storage layer; messages name the output URI, never a secret."""

from __future__ import annotations

__all__ = [
    "InvalidKey",
    "PublishFailed",
    "StorageConfigError",
    "StorageError",
    "StorageUnavailable",
]


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
