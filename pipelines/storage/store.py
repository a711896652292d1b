"""The ``Store`` protocol and ``LocalStore``: publish = atomic rename into the output tree."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from pipelines.durable import fsync_dir
from pipelines.storage.errors import PublishFailed, StorageUnavailable
from pipelines.storage.layout import check_key

__all__ = ["LocalStore", "PublishResult", "Store"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishResult:
    """A confirmed publish: where the file went, its size and checksum (if verified)."""

    key: str
    location: str
    size: int
    checksum: str | None = None


@runtime_checkable
class Store(Protocol):
    """Where closed files end up. Keys are relative: ``<kind>/<group>/<YYYY>/<MM>/<DD>/<f>``."""

    @property
    def uri(self) -> str:
        """The output URI, for messages."""
        ...

    def location(self, key: str) -> str:
        """Where ``key`` is (or will be) published, as a path or ``s3://`` URI."""
        ...

    def check(self) -> None:
        """Fail with ``StorageUnavailable`` unless the store is reachable and writable."""
        ...

    def publish(self, local_path: Path, key: str, *, content_type: str | None = None,
                ) -> PublishResult:
        """Publish a closed file; delete ``local_path`` only once the copy is confirmed.

        Raises ``PublishFailed`` (the local file is kept) when that is not possible.
        """
        ...

    def exists(self, key: str) -> bool:
        """True if ``key`` has been published."""
        ...

    def abort_stale_multipart_uploads(self, older_than: timedelta) -> int:
        """Clean up what a crashed publish left behind; return how many were removed."""
        ...


class LocalStore:
    """A directory tree. Files appear under their final name only when complete."""

    _TMP_PREFIX = ".publishing-"

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def uri(self) -> str:
        return str(self.root)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def location(self, key: str) -> str:
        return str(self.root / check_key(key))

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root, prefix=self._TMP_PREFIX):
                pass
        except OSError as exc:
            msg = f"output directory {self.uri!r} is not writable: {exc.strerror or exc}"
            raise StorageUnavailable(msg) from exc

    def exists(self, key: str) -> bool:
        return (self.root / check_key(key)).is_file()

    def publish(self, local_path: Path, key: str, *, content_type: str | None = None,
                ) -> PublishResult:
        del content_type  # a directory has no content types
        target = self.root / check_key(key)
        try:
            size = local_path.stat().st_size
            _fsync_file(local_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(local_path, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:  # staging is on another filesystem
                    raise
                self._copy_then_rename(local_path, target)
            fsync_dir(target.parent)
            if target.stat().st_size != size:  # pragma: no cover - defensive
                msg = f"size changed while publishing {target}"
                raise OSError(msg)
        except OSError as exc:
            msg = f"cannot publish {local_path} to {target}: {exc}"
            raise PublishFailed(msg, key=key, location=str(target)) from exc
        local_path.unlink(missing_ok=True)
        logger.info("Published %s (%d bytes)", target, size)
        return PublishResult(key=key, location=str(target), size=size)

    def _copy_then_rename(self, source: Path, target: Path) -> None:
        tmp = target.with_name(f"{self._TMP_PREFIX}{uuid.uuid4().hex}-{target.name}")
        try:
            with source.open("rb") as src, tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def abort_stale_multipart_uploads(self, older_than: timedelta) -> int:
        """Remove temporary copies a crash left in the output tree (cross-device case)."""
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - older_than.total_seconds()
        removed = 0
        for tmp in self.root.rglob(f"{self._TMP_PREFIX}*"):
            if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                tmp.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())
