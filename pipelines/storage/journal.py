"""The pending journal: an append-only, fsynced JSON Lines file of files not yet published.

Each line is ``{"key", "status", "after", "content_type", "error", "at"}`` with status
``pending`` (staged, not confirmed) or ``done``; the last line for a key wins. A torn
last line (crash while appending) is ignored. When nothing is pending the file is removed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.durable import fsync_dir

__all__ = ["JOURNAL_NAME", "PendingEntry", "PendingJournal"]

logger = logging.getLogger(__name__)

JOURNAL_NAME = ".pending.jsonl"


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """A staged file waiting to be published (``after``: a key that must go first)."""

    key: str
    after: str | None = None
    content_type: str | None = None
    error: str | None = None


class PendingJournal:
    """Crash-safe record of staged files that are not confirmed in the store yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._torn = False
        self._entries: dict[str, PendingEntry] = self._load()

    def _load(self) -> dict[str, PendingEntry]:
        entries: dict[str, PendingEntry] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return entries
        self._torn = bool(text) and not text.endswith("\n")
        lines = text.splitlines()
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
                key = str(record["key"])
                status = record["status"]
            except (ValueError, KeyError, TypeError):
                logger.warning("Ignoring unreadable line %d of %s", number, self.path)
                continue
            if status == "done":
                entries.pop(key, None)
            else:  # a key keeps its first place: order is publish order
                entries[key] = PendingEntry(key=key, after=record.get("after"),
                                            content_type=record.get("content_type"),
                                            error=record.get("error"))
        if len(lines) > 2 * len(entries) + 100:
            self._rewrite(entries)
        return entries

    def _rewrite(self, entries: dict[str, PendingEntry]) -> None:
        """Replace the file by one line per pending entry (atomically)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for entry in entries.values():
                f.write(json.dumps(self._record(entry), sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self._torn = False

    @staticmethod
    def _record(entry: PendingEntry) -> dict[str, str | None]:
        return {"key": entry.key, "status": "pending", "after": entry.after,
                "content_type": entry.content_type, "error": entry.error}

    def entries(self) -> list[PendingEntry]:
        """Pending entries, oldest first."""
        with self._lock:
            return list(self._entries.values())

    def get(self, key: str) -> PendingEntry | None:
        with self._lock:
            return self._entries.get(key)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def add(self, entry: PendingEntry) -> None:
        """Record ``entry`` as pending (durably, before the publish is attempted)."""
        with self._lock:
            self._entries[entry.key] = entry  # an update keeps the first place
            self._append(self._record(entry))

    def done(self, key: str) -> None:
        """Record ``key`` as published; compact the file once nothing is pending."""
        with self._lock:
            if self._entries.pop(key, None) is None:
                return
            if not self._entries:
                self.path.unlink(missing_ok=True)
                fsync_dir(self.path.parent)
                return
            self._append({"key": key, "status": "done"})

    def _append(self, record: dict[str, str | None]) -> None:
        record["at"] = datetime.now(UTC).isoformat(timespec="seconds")
        line = json.dumps(record, sort_keys=True) + "\n"
        if self._torn:  # finish the line a crash cut short, so this one stays readable
            line = "\n" + line
            self._torn = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            fsync_dir(self.path.parent)
