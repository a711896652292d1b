"""Crash recovery for leftover ``*.warc.gz.open`` files (R3).

A ``.open`` file found at start-up was not closed: its last record may be cut. It is read
record by record with warcio's ``ArchiveIterator`` (digests checked); the file is cut
after the last record that is complete (its gzip member ends with a valid trailer and,
where warcio can check it, its digest passes), then fsynced, renamed to the final name and
indexed. A file whose ``warcinfo`` is not even complete becomes ``<final>.invalid``.
Nothing is ever published as found.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from warcio.archiveiterator import ArchiveIterator

from pipelines.durable import fsync_dir
from pipelines.warc.index import index_warc
from pipelines.warc.names import INVALID_SUFFIX, OPEN_SUFFIX, WARC_SUFFIX

__all__ = ["RepairOutcome", "complete_prefix", "repair_open_files"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RepairOutcome:
    """What happened to one ``.open`` file."""

    source: Path
    status: Literal["repaired", "invalid"]
    path: Path
    cdxj: Path | None
    records: int
    dropped_bytes: int


def _member_complete(fh: BinaryIO, offset: int, length: int) -> bool:
    """True when ``length`` bytes at ``offset`` are exactly one whole gzip member with a
    matching CRC (zlib checks the trailer)."""
    fh.seek(offset)
    data = fh.read(length)
    if len(data) != length:
        return False
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        inflater.decompress(data)
    except zlib.error:
        return False
    return inflater.eof and not inflater.unused_data


def complete_prefix(path: Path) -> tuple[int, int, str | None]:
    """``(end offset, record count, first record type)`` of the complete records at the
    start of a WARC file."""
    good_end = 0
    count = 0
    first_type: str | None = None
    with path.open("rb") as stream, path.open("rb") as checker:
        iterator = ArchiveIterator(stream, check_digests=True)
        try:
            for record in iterator:
                content = record.content_stream()
                while content.read(1 << 16):
                    pass
                iterator.read_to_end()
                offset = iterator.get_record_offset()
                length = iterator.get_record_length()
                has_digest = record.rec_headers.get_header("WARC-Block-Digest") is not None
                passed = record.digest_checker.passed
                if passed is False or (has_digest and passed is None
                                       and record.rec_type != "revisit"):
                    break
                if offset != good_end or not _member_complete(checker, offset, length):
                    break
                good_end = offset + length
                count += 1
                if first_type is None:
                    first_type = record.rec_type
        except Exception as exc:  # any parse failure ends the readable prefix
            logger.debug("%s: stops being readable after %d bytes: %r", path, good_end, exc)
    return good_end, count, first_type


def repair_open_files(
    directory: Path,
    *,
    index: bool = True,
    on_published: Callable[[Path, Path | None], None] | None = None,
) -> list[RepairOutcome]:
    """Cut or invalidate every ``*.warc.gz.open`` file in ``directory`` (not recursive)."""
    outcomes = []
    for source in sorted(directory.glob("*" + WARC_SUFFIX + OPEN_SUFFIX)):
        outcomes.append(_repair_one(source, index=index, on_published=on_published))
    return outcomes


def _repair_one(
    source: Path,
    *,
    index: bool,
    on_published: Callable[[Path, Path | None], None] | None,
) -> RepairOutcome:
    final = source.with_name(source.name.removesuffix(OPEN_SUFFIX))
    size = source.stat().st_size
    good_end, count, first_type = complete_prefix(source)
    if count == 0 or first_type != "warcinfo" or final.exists():
        invalid = final.with_name(final.name + INVALID_SUFFIX)
        os.replace(source, invalid)
        fsync_dir(source.parent)
        logger.warning("WARC file %s has no complete warcinfo (or its final name is taken);"
                       " renamed to %s", source, invalid.name)
        return RepairOutcome(source, "invalid", invalid, None, 0, size)

    with source.open("r+b") as fh:
        fh.truncate(good_end)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(source, final)
    fsync_dir(final.parent)
    logger.warning("repaired WARC file %s: kept %d records, dropped %d bytes",
                   final, count, size - good_end)
    cdxj = index_warc(final) if index else None
    if on_published is not None:
        on_published(final, cdxj)
    return RepairOutcome(source, "repaired", final, cdxj, count, size - good_end)
