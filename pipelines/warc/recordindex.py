"""cdxj-indexer's CDXJ line for a WARC record as it is written (R22).

Kept apart from ``pipelines.warc.index``: importing cdxj-indexer costs readers a few
tenths of a second at start-up, and only the writer needs this.
"""

from __future__ import annotations

import io

from cdxj_indexer.main import CDXJIndexer
from warcio.recordloader import ArcWarcRecord

__all__ = ["RecordIndexer"]


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
