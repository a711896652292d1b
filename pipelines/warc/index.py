"""CDXJ sidecar index of a WARC file, by cdxj-indexer (R22).

``index_warc`` reads a closed file back (repairs, files with POST captures);
``pipelines.warc.recordindex.RecordIndexer`` gives the lines of records as they are
written, and ``write_sidecar`` stores them.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from pipelines.durable import fsync_dir
from pipelines.warc.names import OPEN_SUFFIX, WARC_SUFFIX, sidecar_name

__all__ = ["index_warc", "sidecar_path", "write_sidecar"]

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
    # imported here: cdxj-indexer (and pkg_resources under it) costs readers, who import
    # pipelines.warc for its brotli shim, a few tenths of a second at start-up
    from cdxj_indexer.main import write_cdx_index  # noqa: PLC0415

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
    try:
        with tmp.open("wb") as fh:
            fh.writelines(line + b"\n" for line in ordered)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half sidecar behind
        raise
    fsync_dir(final.parent)
    logger.debug("indexed %s: %d CDXJ lines", warc_path.name, len(ordered))
    return final

