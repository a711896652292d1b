"""A size-rotated gzipped JSON Lines writer that never exposes half a file.

Each file is written as ``<name>.open`` and renamed to ``<name>`` (atomically, after an
fsync) when it is closed, so a reader listing the directory only ever sees whole files.
"""

from __future__ import annotations

import gzip
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from pipelines.durable import publish_file

__all__ = ["RotatingJsonlWriter"]


class RotatingJsonlWriter:
    """Writes dicts as JSON lines into ``<dir>/<prefix>-<ts>-<serial>-<token>.jsonl.gz``.

    ``directory_for(now)`` gives the directory of a new file, so callers choose the
    layout. A file is rotated once its compressed size reaches ``max_size`` bytes.
    """

    def __init__(self, directory_for: Callable[[datetime], Path], prefix: str = "articles",
                 max_size: int = 64 * 1024 * 1024, compresslevel: int = 6,
                 on_published: Callable[[Path], None] | None = None) -> None:
        self.directory_for = directory_for
        self.on_published = on_published
        self.prefix = prefix
        self.max_size = max_size
        self.compresslevel = compresslevel
        self.token = secrets.token_hex(3)
        self.serial = 0
        self.published: list[Path] = []
        self.records = 0
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
        self._raw = open(self._path, "xb")  # noqa: SIM115 - closed in close()
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb",
                                 compresslevel=self.compresslevel, mtime=0)

    def write(self, record: dict[str, Any]) -> None:
        if self._gz is None:
            self._open()
        assert self._gz is not None and self._raw is not None
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        self._gz.write(line.encode("utf-8"))
        self.records += 1
        if self._raw.tell() >= self.max_size:
            self.close()

    def close(self) -> Path | None:
        """Finish the current file and publish it; returns its final path."""
        if self._gz is None or self._raw is None or self._path is None:
            return None
        self._gz.close()
        self._raw.flush()
        self._raw.close()
        final = publish_file(self._path)
        self.published.append(final)
        self._gz = self._raw = self._path = None
        if self.on_published is not None:
            self.on_published(final)
        return final
