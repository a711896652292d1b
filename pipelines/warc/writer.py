"""Rotating WARC file writer (R1-R5, R14, R18-R22).

``WarcWriter`` owns a directory of ``*.warc.gz.open`` files. Each record is its own gzip
member (warcio's record serialisation, compressed by zlib at level 6: warcio's level 9
costs 60% more CPU on HTML for 0.6% smaller records); each file starts with a ``warcinfo``. A
capture group (response/revisit + request) is serialised to memory first, so the size
check before writing is exact: if the group would push the current file past
``max_size`` (or the file is older than ``max_age``), the file is rotated and the group
written to a new one. A single group larger than ``max_size`` goes alone into a fresh file
(no segmentation).

Captures written with ``hold=True`` keep their file open (as a *draining* file once a
newer one is current) until :meth:`WarcWriter.write_extraction` or
:meth:`WarcWriter.release`, so that ``conversion``/``metadata`` records land in the same
file as the response they refer to (R4). The size check reserves room for those records
(the capture group's own size: extracted text is smaller than its page), so a file passes
``max_size`` only when a single capture is larger than it.

Closing a file: flush, fsync, ``os.replace`` to the final name, fsync of the directory,
CDXJ sidecar, then ``on_published(warc, cdxj)``. The sidecar's lines are cdxj-indexer's,
made as each capture is written (its offset and length are known then); a file holding a
capture cdxj-indexer can only index from the file (POST/PUT, a 304 revisit without payload
digest) is indexed by reading it back instead.

Threads: the writer is meant to be called from one thread at a time (e.g. Scrapy's
``run_in_thread`` calls, awaited one after the other); a lock still serialises all calls,
so concurrent use is safe, only slower.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Self

from warcio.recordloader import ArcWarcRecord
from warcio.warcwriter import WARCWriter

from pipelines.durable import fsync_dir
from pipelines.storage.errors import DiskFull, is_disk_full
from pipelines.warc import records
from pipelines.warc.capture import HttpCapture
from pipelines.warc.dedup import DedupEntry, DedupIndex
from pipelines.warc.index import index_warc, write_sidecar
from pipelines.warc.names import OPEN_SUFFIX, new_token, warc_file_name

if TYPE_CHECKING:
    from pipelines.warc.recordindex import RecordIndexer

__all__ = ["CaptureRef", "WarcFileClosedError", "WarcWriter", "gzip_member"]

logger = logging.getLogger(__name__)

PublishedCallback = Callable[[Path, Path | None], None]


class WarcFileClosedError(RuntimeError):
    """The WARC file of a capture was already closed (capture written without ``hold``)."""


@dataclass(frozen=True, slots=True)
class CaptureRef:
    """Where a capture's response (or revisit) record was written."""

    record_id: str
    warc_date: str
    filename: str
    offset: int
    length: int
    url: str
    is_revisit: bool
    payload_digest: str | None
    held: bool = False  # the file stays open until write_extraction or release


_RESERVE_EXTRA = 1024  # metadata record and gzip member overhead


@dataclass(eq=False)
class _OpenFile:
    name: str
    path: Path
    fh: BinaryIO
    warcinfo_id: str
    opened_at: float
    size: int = 0
    captures: int = 0
    has_post: bool = False
    holds: set[str] = field(default_factory=set)
    # bytes set aside for the conversion/metadata records a hold may still bring (R4)
    reserved: dict[str, int] = field(default_factory=dict)
    archived: list[DedupEntry] = field(default_factory=list)
    # CDXJ lines of the captures so far; None once the file must be read back to index
    cdx: list[bytes] | None = field(default_factory=list)


@dataclass
class _Group:
    data: bytes
    main_offset: int
    main_length: int
    main: ArcWarcRecord
    records: int


class WarcWriter:
    """Writes captures into rotating, indexed WARC/1.1 files in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        prefix: str,
        info: records.WarcInfo,
        max_size: int = 1_000_000_000,
        max_age: float = 86400,
        hostname: str | None = None,
        clock: Callable[[], float] = time.time,
        dedup: DedupIndex | None = None,
        index: bool = True,
        on_published: PublishedCallback | None = None,
        keep_credentials: bool = False,
        token: str | None = None,
        id_factory: Callable[[], str] = records.new_record_id,
    ) -> None:
        if max_size <= 0 or max_age <= 0:
            msg = f"max_size and max_age must be positive, got {max_size}, {max_age}"
            raise ValueError(msg)
        self.directory = directory
        self.prefix = prefix
        self.hostname = hostname or socket.gethostname()
        self.info = info if info.hostname else replace(info, hostname=self.hostname)
        self.max_size = max_size
        self.max_age = max_age
        self.clock = clock
        self.dedup = dedup
        self.index = index
        self.on_published = on_published
        self.keep_credentials = keep_credentials
        self.token = token or new_token()
        self.new_id = id_factory
        self._indexer: RecordIndexer | None = None
        if index:
            # imported here: readers import pipelines.warc and must not pay for cdxj-indexer
            from pipelines.warc.recordindex import RecordIndexer  # noqa: PLC0415

            self._indexer = RecordIndexer()
        # check the name parts now, not at the first capture
        warc_file_name(prefix, datetime.now(UTC), 0, self.hostname, self.token)
        directory.mkdir(parents=True, exist_ok=True)

        self._lock = threading.RLock()
        self._serial = 0
        self._current: _OpenFile | None = None
        self._draining: dict[str, _OpenFile] = {}
        # digests/urls archived in files not yet published (R18 entries wait for publication)
        self._pending_digests: dict[str, DedupEntry] = {}
        self._pending_urls: dict[str, DedupEntry] = {}
        self._published: list[Path] = []
        self._stats = {"records": 0, "bytes": 0, "files": 0, "captures": 0, "revisits": 0}

    # -- public API -------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, int]:
        """Counters: records and (compressed) bytes written, files published, captures,
        revisits."""
        with self._lock:
            return dict(self._stats)

    @property
    def published(self) -> list[Path]:
        """Final paths of every WARC file published so far, in order."""
        with self._lock:
            return list(self._published)

    @property
    def open_files(self) -> list[Path]:
        """``.open`` paths still being written (current first, then draining)."""
        with self._lock:
            files = [self._current] if self._current else []
            return [f.path for f in files + list(self._draining.values())]

    def write_capture(self, capture: HttpCapture, *, hold: bool = False) -> CaptureRef:
        """Write one capture group: ``response`` (or ``revisit``) then its ``request``.

        A 304 becomes a server-not-modified revisit (R19); a 2xx, complete, non-empty body
        whose payload digest is already archived becomes an identical-payload-digest
        revisit (R18) when a dedup index is set. ``hold=True`` keeps the file open until
        :meth:`write_extraction` or :meth:`release` is called with the returned ref.
        """
        with self._lock:
            now = self.clock()
            current = self._current
            if current is not None and now - current.opened_at >= self.max_age:
                logger.debug("rotating %s: older than %ss", current.name, self.max_age)
                self._rotate()
            target = self._current or self._open_file(now)
            group = self._build_group(capture, target)
            # extraction text is smaller than the page it comes from: reserve the group's
            # size for it, so the whole group (with its later records) fits the file
            reserve = len(group.data) + _RESERVE_EXTRA if hold else 0
            needed = target.size + sum(target.reserved.values()) + len(group.data) + reserve
            if target.captures and needed > self.max_size:
                logger.debug("rotating %s: %d bytes needed > %d", target.name, needed,
                             self.max_size)
                self._rotate()
                target = self._open_file(now)
                group = self._build_group(capture, target)
            offset = target.size
            self._append(target, group.data, group.records)
            target.captures += 1
            target.has_post |= capture.method.upper() in ("POST", "PUT")
            self._stats["captures"] += 1

            main = group.main
            is_revisit = main.rec_type == "revisit"
            digest = main.rec_headers.get_header("WARC-Payload-Digest")
            ref = CaptureRef(
                record_id=main.rec_headers.get_header("WARC-Record-ID"),
                warc_date=main.rec_headers.get_header("WARC-Date"),
                filename=target.name,
                offset=offset + group.main_offset,
                length=group.main_length,
                url=capture.url,
                is_revisit=is_revisit,
                payload_digest=digest,
                held=hold,
            )
            self._index(target, main, ref, post=capture.method.upper() in ("POST", "PUT"))
            if is_revisit:
                self._stats["revisits"] += 1
            elif digest and self._dedupable(capture):
                self._remember(target, ref, digest)
            if hold:
                target.holds.add(ref.record_id)
                target.reserved[ref.record_id] = reserve
            return ref

    def write_extraction(
        self,
        ref: CaptureRef,
        *,
        text: str | None = None,
        language: str | None = None,
        fields: Sequence[tuple[str, str]] = (),
        extractor: str | None = None,
    ) -> list[str]:
        """Write a ``conversion`` (``text``, R20) and/or ``metadata`` (``fields``, R21)
        record referring to ``ref``'s record, into ``ref``'s file; release the hold.

        Returns the ids of the records written. Raises :class:`WarcFileClosedError` when
        the file was already closed (write the capture with ``hold=True``).
        """
        with self._lock:
            target = self._file_named(ref.filename)
            if target is None:
                msg = f"{ref.filename} is closed; write the capture with hold=True"
                raise WarcFileClosedError(msg)
            built: list[ArcWarcRecord] = []
            common = {
                "date": ref.warc_date,
                "warcinfo_id": target.warcinfo_id,
                "refers_to": ref.record_id,
            }
            if text is not None:
                built.append(records.conversion_record(
                    ref.url, text, record_id=self.new_id(), language=language, **common
                ))
            if fields or text is None:
                built.append(records.metadata_record(
                    ref.url, fields, record_id=self.new_id(), extractor=extractor, **common
                ))
            data, _ = _serialise(built)
            target.reserved.pop(ref.record_id, None)
            self._append(target, data, len(built))
            ids = [r.rec_headers.get_header("WARC-Record-ID") for r in built]
            self._release(target, ref.record_id)
            return ids

    def release(self, ref: CaptureRef) -> None:
        """Give up the hold of ``ref`` (no extraction will follow); idempotent."""
        if not ref.held:
            return  # the lock is held while a capture is compressed: not taken for nothing
        with self._lock:
            target = self._file_named(ref.filename)
            if target is not None:
                self._release(target, ref.record_id)

    def rotate(self) -> None:
        """Start a new file at the next capture (the current one closes, or drains while
        it has holds)."""
        with self._lock:
            self._rotate()

    def close(self) -> list[Path]:
        """Close every file (holds are dropped) and return all published WARC paths."""
        with self._lock:
            files = [self._current] if self._current else []
            files += list(self._draining.values())
            self._current = None
            self._draining.clear()
            for open_file in files:
                self._finish(open_file)
            return list(self._published)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------

    def _dedupable(self, capture: HttpCapture) -> bool:
        return (
            self.dedup is not None
            and 200 <= capture.status < 300
            and bool(capture.body)
            and capture.truncated is None
        )

    def _lookup_digest(self, digest: str) -> DedupEntry | None:
        pending = self._pending_digests.get(digest)
        if pending is not None or self.dedup is None:
            return pending
        return self.dedup.lookup(digest)

    def _lookup_url(self, url: str) -> DedupEntry | None:
        pending = self._pending_urls.get(url)
        if pending is not None or self.dedup is None:
            return pending
        return self.dedup.lookup_url(url)

    def _remember(self, target: _OpenFile, ref: CaptureRef, digest: str) -> None:
        entry = DedupEntry(digest, ref.url, ref.warc_date, ref.record_id, ref.filename)
        target.archived.append(entry)
        self._pending_digests.setdefault(digest, entry)
        self._pending_urls[ref.url] = entry

    def _index(self, target: _OpenFile, main: ArcWarcRecord, ref: CaptureRef, *,
               post: bool) -> None:
        if self._indexer is None or target.cdx is None:
            return
        if post:  # post-append keys need the request body: cdxj-indexer reads the file
            target.cdx = None
            return
        try:
            line = self._indexer.line(main, target.name, ref.offset, ref.length)
        except ValueError:
            target.cdx = None
            return
        if line is not None:
            target.cdx.append(line)

    def _build_group(self, capture: HttpCapture, target: _OpenFile) -> _Group:
        date = records.warc_date(capture.fetch_start)
        main_id = self.new_id()
        common = {"record_id": main_id, "date": date, "warcinfo_id": target.warcinfo_id}
        main: ArcWarcRecord
        if capture.status == 304:
            main = records.not_modified_record(
                capture, original=self._lookup_url(capture.url), **common
            )
        else:
            digest = records.payload_digest(capture.body)
            original = self._lookup_digest(digest) if self._dedupable(capture) else None
            if original is not None:
                main = records.revisit_record(
                    capture, digest=digest, original=original, **common
                )
            else:
                main = records.response_record(capture, digest=digest, **common)
        request = records.request_record(
            capture,
            record_id=self.new_id(),
            date=date,
            warcinfo_id=target.warcinfo_id,
            concurrent_to=main_id,
            keep_credentials=self.keep_credentials,
        )
        data, ends = _serialise([main, request])
        return _Group(data, 0, ends[0], main, 2)

    def _open_file(self, now: float) -> _OpenFile:
        opened = datetime.fromtimestamp(now, UTC)
        name = warc_file_name(self.prefix, opened, self._serial, self.hostname, self.token)
        self._serial += 1
        path = self.directory / (name + OPEN_SUFFIX)
        try:
            # unbuffered: a failed write leaves nothing behind in a buffer (see _append)
            fh = path.open("xb", buffering=0)
        except OSError as exc:
            raise DiskFull(path, exc) if is_disk_full(exc) else exc from exc
        warcinfo_id = self.new_id()
        info = records.warcinfo_record(
            name, self.info, record_id=warcinfo_id, date=records.warc_date(opened)
        )
        open_file = _OpenFile(name, path, fh, warcinfo_id, now)
        data, _ = _serialise([info])
        try:
            self._append(open_file, data, 1)
        except OSError:
            fh.close()  # not even a warcinfo: nothing worth keeping
            path.unlink(missing_ok=True)
            raise
        self._current = open_file
        logger.info("opened WARC file %s", path)
        return open_file

    def _append(self, target: _OpenFile, data: bytes, count: int) -> None:
        """Write whole records or nothing: a failed write (a full disk) is cut off again,
        so the file keeps only complete records and can still be closed and published."""
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += target.fh.write(view[written:]) or 0
        except OSError as exc:
            try:
                target.fh.truncate(target.size)
                target.fh.seek(target.size)
            except OSError:  # pragma: no cover - truncating frees space, it rarely fails
                logger.exception("can't cut the failed write off %s", target.path)
            if is_disk_full(exc):
                raise DiskFull(target.path, exc) from exc
            raise
        target.size += len(data)
        self._stats["records"] += count
        self._stats["bytes"] += len(data)

    def _file_named(self, name: str) -> _OpenFile | None:
        if self._current is not None and self._current.name == name:
            return self._current
        return self._draining.get(name)

    def _release(self, target: _OpenFile, record_id: str) -> None:
        target.holds.discard(record_id)
        target.reserved.pop(record_id, None)
        if not target.holds and self._draining.get(target.name) is target:
            del self._draining[target.name]
            self._finish(target)

    def _rotate(self) -> None:
        current, self._current = self._current, None
        if current is None:
            return
        if current.holds:
            logger.debug("%s drains: %d holds", current.name, len(current.holds))
            self._draining[current.name] = current
        else:
            self._finish(current)

    def _finish(self, target: _OpenFile) -> None:
        """Close, fsync, rename, index and announce one file (R3, R22)."""
        target.fh.flush()
        os.fsync(target.fh.fileno())
        target.fh.close()
        final = self.directory / target.name
        os.replace(target.path, final)
        fsync_dir(self.directory)
        self._published.append(final)
        self._stats["files"] += 1
        logger.info("closed WARC file %s (%d bytes, %d captures)",
                    final, target.size, target.captures)

        for entry in target.archived:
            if self._pending_digests.get(entry.digest) is entry:
                del self._pending_digests[entry.digest]
            if self._pending_urls.get(entry.uri) is entry:
                del self._pending_urls[entry.uri]
        if self.dedup is not None:
            try:
                self.dedup.add_many(target.archived)
            except Exception as exc:  # sqlite: "database or disk is full"
                # the file is closed and whole: publish it; later copies of its payloads
                # are stored again instead of as revisits
                logger.error("could not add %s to the dedup index %s: %s", target.name,
                             self.dedup.path, exc)

        cdxj: Path | None = None
        if self.index:
            try:
                cdxj = write_sidecar(final, target.cdx) if target.cdx is not None else \
                    index_warc(final, post_append=target.has_post)
            except OSError as exc:  # a full disk: the next run indexes and publishes it
                logger.error("could not index %s: %s; it stays for the next run", final,
                             exc)
                return
            except Exception:
                logger.exception("could not index %s", final)
        if self.on_published is not None:
            try:
                self.on_published(final, cdxj)
            except Exception:
                logger.exception("on_published failed for %s", final)


GZIP_LEVEL = 6
# A content-coded body (gzip, br, deflate: most HTML served today) does not deflate again:
# level 6 spent about 0.55 ms of CPU on each such page for no byte saved.
_IDENTITY = ("", "identity")


def _stored_from(record: ArcWarcRecord, data: bytes) -> int | None:
    """Where the content-coded payload of a response record starts in ``data`` (it is
    stored, not deflated, in the record's gzip member), or None to deflate it all."""
    if record.rec_type != "response" or record.http_headers is None:
        return None
    coding = record.http_headers.get_header("Content-Encoding") or ""
    if coding.strip().lower() in _IDENTITY:
        return None
    warc_head = data.find(b"\r\n\r\n")
    http_head = data.find(b"\r\n\r\n", warc_head + 4) if warc_head >= 0 else -1
    return http_head + 4 if http_head >= 0 else None


def gzip_member(data: bytes, stored_from: int | None = None) -> bytes:
    """One gzip member holding ``data``, deflated, or from ``stored_from`` on in stored
    (uncompressed) deflate blocks. The two parts are one deflate stream: the first ends with
    a full flush (byte-aligned, history reset), the second is raw deflate at level 0 that
    closes the stream, and the gzip trailer (CRC-32, size) covers all of ``data``."""
    packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    if stored_from is None:
        return packer.compress(data) + packer.flush()
    store = zlib.compressobj(0, zlib.DEFLATED, -zlib.MAX_WBITS)
    view = memoryview(data)
    return b"".join((
        packer.compress(view[:stored_from]), packer.flush(zlib.Z_FULL_FLUSH),
        store.compress(view[stored_from:]), store.flush(),
        struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)))


def _serialise(built: Sequence[ArcWarcRecord]) -> tuple[bytes, list[int]]:
    """The records as consecutive gzip members and each member's end offset."""
    plain = BytesIO()
    writer = WARCWriter(plain, gzip=False, warc_version=records.WARC_VERSION)
    members = []
    ends = []
    size = 0
    for record in built:
        plain.seek(0)
        plain.truncate()
        writer.write_record(record)
        data = plain.getvalue()
        member = gzip_member(data, _stored_from(record, data))
        members.append(member)
        size += len(member)
        ends.append(size)
    return b"".join(members), ends
