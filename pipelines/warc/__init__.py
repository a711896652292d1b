"""Scrapy-free WARC/1.1 writing: names, records, rotating writer, dedup index, repair.

Requirements R1-R26 are in ``docs/warc-requirements.md`` (shared docs); the Scrapy hook that
turns responses into :class:`HttpCapture` objects lives elsewhere.
"""

from pipelines.warc.capture import HttpCapture, Truncation
from pipelines.warc.compat import install_brotli_for_warcio
from pipelines.warc.dedup import DedupEntry, DedupIndex
from pipelines.warc.index import index_warc, sidecar_path
from pipelines.warc.names import warc_file_name
from pipelines.warc.records import WarcInfo, default_software, payload_digest, warc_date
from pipelines.warc.repair import RepairOutcome, repair_open_files
from pipelines.warc.writer import CaptureRef, WarcFileClosedError, WarcWriter

install_brotli_for_warcio()

__all__ = [
    "CaptureRef",
    "DedupEntry",
    "DedupIndex",
    "HttpCapture",
    "RepairOutcome",
    "Truncation",
    "WarcFileClosedError",
    "WarcInfo",
    "WarcWriter",
    "default_software",
    "index_warc",
    "install_brotli_for_warcio",
    "payload_digest",
    "repair_open_files",
    "sidecar_path",
    "warc_date",
    "warc_file_name",
]
