"""A size-rotated gzipped JSON Lines writer that never exposes half a file.

Each file is written as ``<name>.open`` and renamed to ``<name>`` (atomically, after an
fsync) when it is closed, so a reader listing the directory only ever sees whole files.
"""

from __future__ import annotations

import gzip
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NoReturn

from pipelines.durable import publish_file
from pipelines.storage.errors import DiskFull, is_disk_full

__all__ = ["RotatingJsonlWriter"]

logger = logging.getLogger(__name__)


class RotatingJsonlWriter:
    """Writes dicts as JSON lines into ``<dir>/<prefix>-<ts>-<serial>-<token>.jsonl.gz``.

    ``directory_for(now)`` gives the directory of a new file, so callers choose the
    layout. A file is rotated once its compressed size reaches ``max_size`` bytes.

    A failed write (a full disk: :class:`DiskFull`) drops the open file: a gzip stream cut
    anywhere is no use, and its records were never announced as published.
    """

    def __init__(self, directory_for: Callable[[datetime], Path], prefix: str = "articles",
                 max_size: int = 64 * 1024 * 1024, compresslevel: int = 6,
                 on_published: Callable[[Path], None] | None = None,
                 on_closing: Callable[[Path], None] | None = None) -> None:
        self.directory_for = directory_for
        self.on_published = on_published
        # called with the complete ``.open`` file before its rename; if it raises, the
        # file is dropped (a caller records the records as archived here)
        self.on_closing = on_closing
        self.prefix = prefix
        self.max_size = max_size
        self.compresslevel = compresslevel
        self.token = secrets.token_hex(3)
        self.serial = 0
        self.published: list[Path] = []
        self.records = 0
        self.file_records = 0  # records in the open file
        self.last_dropped = 0  # records lost with the file the last failed write dropped
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self._path: Path | None = None

    def _open(self) -> None:
        now = datetime.now(UTC)
        directory = self.directory_for(now)
        directory.mkdir(parents=True, exist_ok=True)
        self.serial += 1
        name = (f"{self.prefix}-{now:%Y%m%d%H%M%S}-{self.serial:05d}-{self.token}"
                ".jsonl.gz.open")
        self._path = directory / name
        # unbuffered: GzipFile buffers; after a failed write nothing is left to flush
        self._raw = open(self._path, "xb", buffering=0)  # noqa: SIM115 - closed in close()
        self.file_records = 0
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb",
                                 compresslevel=self.compresslevel, mtime=0)

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record``; on an ``OSError`` the open file (with the records written
        to it before) is dropped and the error raised (:class:`DiskFull` for a full disk)."""
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            if self._gz is None:
                self._open()
            assert self._gz is not None and self._raw is not None
            self._gz.write(line.encode("utf-8"))
        except OSError as exc:
            self._failed(exc)
        self.records += 1
        self.file_records += 1
        if self._raw.tell() >= self.max_size:
            try:
                self.close()
            except OSError:
                # count only the records written before this one
                self.last_dropped = max(self.last_dropped - 1, 0)
                raise

    def _failed(self, exc: OSError) -> NoReturn:
        path = self._path
        self.drop()
        if is_disk_full(exc) and not isinstance(exc, DiskFull):
            raise DiskFull(path or self.directory_for(datetime.now(UTC)), exc) from exc
        raise exc

    def drop(self) -> int:
        """Give up the open file (deleted, its records lost); how many records it held."""
        dropped, path = self.file_records, self._path
        if self._raw is not None:
            self._raw.close()  # unbuffered: closing writes nothing
        if path is not None:
            path.unlink(missing_ok=True)
            logger.error("dropped %s with %d record(s) after a failed write", path, dropped)
        self._gz = self._raw = self._path = None
        self.records -= dropped
        self.file_records = 0
        self.last_dropped = dropped
        return dropped

    def close(self) -> Path | None:
        """Finish the current file and publish it; returns its final path."""
        if self._gz is None or self._raw is None or self._path is None:
            return None
        path = self._path
        try:
            self._gz.close()
            self._raw.close()
            if self.on_closing is not None:
                self.on_closing(path)
        except OSError as exc:
            self._failed(exc)
        try:
            final = publish_file(path)
        except OSError as exc:
            # complete, and on_closing recorded its records: it stays as it is (.open)
            # for the next run to complete, nothing is lost
            logger.error("can't rename %s: %s; the next run completes it", path, exc)
            self._gz = self._raw = self._path = None
            self.file_records = self.last_dropped = 0
            if is_disk_full(exc):
                raise DiskFull(path, exc) from exc
            raise
        self.published.append(final)
        self.file_records = 0
        self._gz = self._raw = self._path = None
        if self.on_published is not None:
            self.on_published(final)
        return final
