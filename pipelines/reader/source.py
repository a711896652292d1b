"""Read-only access to an archive: a directory or ``s3://bucket/prefix``.

A ``Source`` lists keys under a prefix, streams an object, reads a byte range of one
(a ranged ``GetObject`` on S3) and nothing else: readers need only ``s3:ListBucket`` and
``s3:GetObject``. Keys are relative to the archive root (``articles/…``, ``warc/…``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from pipelines.storage import S3Options, join_key, parse_uri
from pipelines.storage.uri import OutputURI

__all__ = ["LocalSource", "NotFound", "ObjectInfo", "S3Source", "Source", "open_source"]

_CHUNK = 1024 * 1024


class NotFound(KeyError):
    """The key is not in the archive."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int


class Source(Protocol):
    """What readers may do with an archive: list, read, read a range. No writes."""

    @property
    def uri(self) -> str: ...

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix`` (a folder: end it with ``/``), in key
        order, streamed page by page."""
        ...

    def list_dirs(self, prefix: str) -> list[str]:
        """The names of the immediate sub-folders of ``prefix`` (ending with ``/``)."""
        ...

    def open(self, key: str) -> IO[bytes]:
        """A binary stream over the object (read it in pieces; close it)."""
        ...

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``: on S3 one ranged GET, never the whole object."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """A whole (small) object: manifests and catalog heads."""
        ...

    def location(self, key: str) -> str: ...


def _skip(name: str) -> bool:
    return name.endswith((".open", ".invalid")) or name.startswith(".")


class LocalSource:
    """An archive directory (the ``--output`` of a crawl)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def uri(self) -> str:
        return str(self.root)

    def location(self, key: str) -> str:
        return str(self.root / key)

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        base, _, start = prefix.rpartition("/")
        folder = self.root / base if base else self.root
        if not folder.is_dir():
            return
        yield from self._walk(folder, base, start)

    def _walk(self, folder: Path, rel: str, start: str) -> Iterator[ObjectInfo]:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if not entry.name.startswith(start) or _skip(entry.name):
                continue
            key = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), key, "")
            elif entry.is_file():
                yield ObjectInfo(key, entry.stat().st_size)

    def list_dirs(self, prefix: str) -> list[str]:
        folder = self.root / prefix.strip("/") if prefix.strip("/") else self.root
        if not folder.is_dir():
            return []
        return sorted(e.name for e in os.scandir(folder)
                      if e.is_dir(follow_symlinks=False) and not _skip(e.name))

    def open(self, key: str) -> IO[bytes]:
        try:
            return (self.root / key).open("rb")
        except FileNotFoundError:
            raise NotFound(key) from None

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        with self.open(key) as fh:
            fh.seek(offset)
            return fh.read(length)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()


class _Body(io.RawIOBase):
    """botocore's StreamingBody as a raw binary stream (wrap it in a BufferedReader)."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Source:
    """``s3://bucket/prefix`` through boto3 (standard credential chain, endpoint from
    ``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL`` or ``options``). Calls only
    ``ListObjectsV2`` and ``GetObject``."""

    def __init__(self, bucket: str, prefix: str = "", options: S3Options | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            # S3Store builds the client with the crawler's own options; nothing is written
            from pipelines.storage import S3Store  # noqa: PLC0415

            client = S3Store(bucket, self.prefix, options).client
        self.client = client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{join_key(self.prefix, key)}"

    def _full(self, key: str) -> str:
        return join_key(self.prefix, key) if key else (f"{self.prefix}/" if self.prefix else "")

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        full = self._full(prefix)
        strip = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for obj in page.get("Contents", []):
                key = str(obj["Key"]).removeprefix(strip)
                if not _skip(key.rsplit("/", 1)[-1]):
                    yield ObjectInfo(key, int(obj["Size"]))

    def list_dirs(self, prefix: str) -> list[str]:
        full = self._full(prefix.strip("/"))
        full = full if full.endswith("/") or not full else full + "/"
        names: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = str(common["Prefix"])[len(full):].strip("/")
                if name and not _skip(name):
                    names.append(name)
        return sorted(names)

    def _get(self, key: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError  # noqa: PLC0415

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key), **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                raise NotFound(key) from None
            raise

    def open(self, key: str) -> IO[bytes]:
        return io.BufferedReader(_Body(self._get(key)["Body"]), _CHUNK)

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        response = self._get(key, Range=f"bytes={offset}-{offset + length - 1}")
        return bytes(response["Body"].read())

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()


def open_source(uri: str | OutputURI | Path, options: S3Options | None = None,
                client: Any = None) -> Source:
    """A ``LocalSource`` for a path, an ``S3Source`` for ``s3://bucket/prefix``."""
    parsed = parse_uri(str(uri)) if not isinstance(uri, OutputURI) else uri
    if parsed.is_s3:
        return S3Source(parsed.bucket, parsed.prefix, options, client)
    assert parsed.path is not None
    return LocalSource(parsed.path)
