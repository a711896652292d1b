"""CDXJ sidecar index of a WARC file, by cdxj-indexer (R22).

``index_warc`` reads a closed file back (repairs, files with POST captures);
``RecordIndexer`` gives cdxj-indexer's line for a record as it is written, where its
offset and length are known, so the writer needs no second pass over the file.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from cdxj_indexer.main import CDXJIndexer, write_cdx_index
from warcio.recordloader import ArcWarcRecord

from pipelines.durable import fsync_dir
from pipelines.warc.names import OPEN_SUFFIX, WARC_SUFFIX, sidecar_name

__all__ = ["RecordIndexer", "index_warc", "sidecar_path", "write_sidecar"]

logger = logging.getLogger(__name__)


def sidecar_path(warc_path: Path) -> Path:
    """``dir/x.warc.gz`` -> ``dir/x.cdxj``."""
    return warc_path.with_name(sidecar_name(warc_path.name))


def index_warc(warc_path: Path, *, post_append: bool = True) -> Path:
    """Write ``<name>.cdxj`` next to a closed ``<name>.warc.gz`` and return its path.

    cdxj-indexer's default fields (url, mime, status, digest, length, offset, filename =
    base name) and default record types (response, revisit, resource, non-warc-fields
    metadata), with ``-p`` (post-append) so POST/PUT captures are addressable (R23); the
    writer turns it off for files without such captures (it halves indexing time). Lines are
    sorted byte-wise like ``LC_ALL=C sort``; the file is written as ``.open`` then renamed.
    """
    if not warc_path.name.endswith(WARC_SUFFIX):
        msg = f"not a closed {WARC_SUFFIX} file: {warc_path}"
        raise ValueError(msg)
    out = io.StringIO()
    indexer = write_cdx_index(out, [str(warc_path)], {"post_append": post_append})
    # cdxj-indexer makes a BufferWARCWriter (a temp file) to digest records without a
    # payload digest (our 304 revisits) and never closes it
    if indexer.writer is not None:
        indexer.writer.out.close()
    return write_sidecar(warc_path, (line.encode("utf-8")
                                     for line in out.getvalue().splitlines()))


def write_sidecar(warc_path: Path, lines: Iterable[bytes]) -> Path:
    """``<name>.cdxj`` beside ``warc_path``: ``lines`` sorted byte-wise, written as
    ``.open``, fsynced, renamed."""
    ordered = sorted(lines)
    final = sidecar_path(warc_path)
    tmp = final.with_name(final.name + OPEN_SUFFIX)
    with tmp.open("wb") as fh:
        fh.writelines(line + b"\n" for line in ordered)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)
    logger.debug("indexed %s: %d CDXJ lines", warc_path.name, len(ordered))
    return final


class _Placed:
    """What cdxj-indexer asks of its record iterator: where the record is."""

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length

    def get_record_offset(self) -> int:
        return self.offset

    def get_record_length(self) -> int:
        return self.length


class RecordIndexer(CDXJIndexer):
    """cdxj-indexer (default fields and records, no post-append) over records being
    written: the same line ``index_warc`` would read back, without reading the file."""

    def __init__(self) -> None:
        super().__init__(output=None, inputs=[])

    def line(self, record: ArcWarcRecord, filename: str, offset: int,
             length: int) -> bytes | None:
        """The record's line; None when cdxj-indexer skips the record type. Raises
        ValueError for a record it could only index from the file (no payload digest)."""
        if not self.filter_record(record):
            return None
        if record.rec_type in ("response", "revisit") and \
                not record.rec_headers.get_header("WARC-Payload-Digest"):
            raise ValueError("no payload digest")
        out = io.StringIO()
        self.curr_filename = filename
        self.process_index_entry(_Placed(offset, length), record, filename, out)
        return out.getvalue().rstrip("\n").encode("utf-8")
