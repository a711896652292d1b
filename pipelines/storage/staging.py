"""``Publisher``: writers stage files locally; closed files are published through a ``Store``.

Every writer (WARC, CDXJ, articles, reports) writes into ``staging_path(key)`` and calls
``publish(key)`` once the file is closed. A publish is journalled before it is tried and
cleared only once the store confirmed it, so a crash or an unreachable bucket leaves the
file in staging and in the journal; ``publish_pending()`` (at the next start, or from
``newsarchive publish``) finishes the job. ``after=`` keeps a CDXJ behind its WARC.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelines.storage.errors import PublishFailed, StorageError
from pipelines.storage.journal import JOURNAL_NAME, PendingEntry, PendingJournal
from pipelines.storage.layout import check_key
from pipelines.storage.store import Store

__all__ = ["PendingReport", "Publisher"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class PendingReport:
    """What ``publish_pending()`` did: keys published, still pending, and lost."""

    published: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.pending and not self.lost


class Publisher:
    """Stage, publish, journal and retry the files of one output store."""

    def __init__(self, store: Store, staging_dir: Path | str, *,
                 disk_budget_bytes: int | None = None, cooldown: float = 60.0,
                 max_failures: int = 3) -> None:
        self.store = store
        self.staging_dir = Path(staging_dir)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self.journal = PendingJournal(self.staging_dir / JOURNAL_NAME)
        self.disk_budget_bytes = disk_budget_bytes
        self.cooldown = cooldown
        self.max_failures = max_failures
        self.last_error: str | None = None
        self.lost: list[str] = []
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._report: PendingReport | None = None  # set while publish_pending() runs
        self._down_until = 0.0

    def __repr__(self) -> str:
        return f"Publisher({self.store!r}, staging={str(self.staging_dir)!r})"

    # -- for writers ----------------------------------------------------------------

    def staging_path(self, key: str) -> Path:
        """Where a writer writes the file that will be published as ``key``."""
        path = self.staging_dir / check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def publish(self, key: str, *, after: str | None = None,
                content_type: str | None = None) -> bool:
        """Publish the closed file staged for ``key``; False if it was left pending.

        With ``after``, ``key`` waits until ``after`` is confirmed (it is published as
        soon as that happens). While the store is failing (``cooldown`` seconds after a
        failure) files are only journalled, so crawling goes on without waiting.
        """
        path = self.staging_dir / check_key(key)
        if not path.is_file():
            msg = f"nothing staged for {key!r} at {path}"
            raise StorageError(msg)
        entry = PendingEntry(key=key, after=check_key(after) if after else None,
                             content_type=content_type)
        self.journal.add(entry)
        if time.monotonic() < self._down_until:
            logger.debug("Store %s is failing, %s stays pending", self.store.uri, key)
            return False
        recovering = self._down_until > 0
        published = self._attempt(entry)
        if published and recovering:
            self._down_until = 0.0
            self.publish_pending()
        return published

    # -- retries --------------------------------------------------------------------

    def pending(self) -> list[PendingEntry]:
        """Journalled files not confirmed yet, oldest first."""
        return self.journal.entries()

    def publish_pending(self) -> PendingReport:
        """Publish journalled files in order; stop after ``max_failures`` in a row."""
        report = self._report = PendingReport()
        failures = 0
        try:
            for entry in self.journal.entries():
                if failures >= self.max_failures:
                    break
                if entry.key not in self.journal:  # handled meanwhile, as a dependent
                    continue
                if self._attempt(entry):
                    failures = 0
                elif entry.key in self.journal and not self._blocked(entry):
                    failures += 1
        finally:
            self._report = None
        report.pending = [entry.key for entry in self.journal.entries()]
        if report.pending:
            logger.error("%d file(s) still pending for %s in %s: %s", len(report.pending),
                         self.store.uri, self.staging_dir, self.last_error)
        elif report.published:
            logger.info("Published %d pending file(s) to %s", len(report.published),
                        self.store.uri)
        return report

    def _blocked(self, entry: PendingEntry) -> bool:
        after = entry.after
        return after is not None and (after in self.journal
                                      or (self.staging_dir / after).is_file())

    def _attempt(self, entry: PendingEntry) -> bool:
        if self._blocked(entry):
            logger.debug("%s waits for %s", entry.key, entry.after)
            return False
        with self._lock:
            if entry.key in self._in_flight:
                return False
            self._in_flight.add(entry.key)
        try:
            done = self._publish_one(entry)
        finally:
            with self._lock:
                self._in_flight.discard(entry.key)
        if done:
            for dependent in self.journal.entries():
                if dependent.after == entry.key:
                    self._attempt(dependent)
        return done

    def _publish_one(self, entry: PendingEntry) -> bool:
        path = self.staging_dir / entry.key
        try:
            if not path.is_file():
                return self._missing(entry)
            self.store.publish(path, entry.key, content_type=entry.content_type)
        except PublishFailed as exc:
            self.last_error = str(exc)
            self._down_until = time.monotonic() + self.cooldown
            self.journal.add(replace(entry, error=str(exc)))
            logger.error("Could not publish %s, it stays in %s and is retried later: %s",
                         exc.location, self.staging_dir, exc)
            return False
        self.journal.done(entry.key)
        self._record(entry.key, lost=False)
        return True

    def _missing(self, entry: PendingEntry) -> bool:
        """A journalled file with no staged copy: a crash after its upload, or lost."""
        try:
            exists = self.store.exists(entry.key)
        except Exception as exc:  # any store error: decide next time
            msg = f"cannot check {self.store.location(entry.key)}: {exc}"
            raise PublishFailed(msg, key=entry.key,
                                location=self.store.location(entry.key)) from exc
        if not exists:
            logger.error("Staged file for %s is gone and it is not in %s", entry.key,
                         self.store.uri)
        self.journal.done(entry.key)
        self._record(entry.key, lost=not exists)
        return exists

    def _record(self, key: str, *, lost: bool) -> None:
        if lost:
            self.lost.append(key)
        report = self._report
        if report is not None:
            (report.lost if lost else report.published).append(key)

    # -- disk budget ----------------------------------------------------------------

    def disk_used(self) -> int:
        """Bytes used by the staging directory (staged files and the journal)."""
        total = 0
        for dirpath, _dirs, files in os.walk(self.staging_dir):
            for name in files:
                try:
                    total += os.lstat(os.path.join(dirpath, name)).st_size
                except FileNotFoundError:  # published meanwhile
                    continue
        return total

    def over_budget(self) -> bool:
        """True once staging holds more than ``disk_budget_bytes`` (the crawl should stop)."""
        return self.disk_budget_bytes is not None and self.disk_used() > self.disk_budget_bytes
