"""Write article records as JSON Lines, CSV or Parquet, streaming (Parquet in batches)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["FORMATS", "check_fields", "parquet_schema", "write_csv", "write_jsonl",
           "write_lines", "write_parquet"]

FORMATS = ("jsonl", "csv", "parquet")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_TIMESTAMPS = frozenset({"published", "modified", "fetched_at"})


def check_fields(fields: Sequence[str] | None) -> list[str]:
    """The fields asked for (default: the README's article fields). Names outside that
    list are allowed (records may carry newer fields) but must look like field names."""
    from pipelines.reader.archive import ARTICLE_FIELDS  # noqa: PLC0415

    if not fields:
        return list(ARTICLE_FIELDS)
    bad = [f for f in fields if not _NAME.fullmatch(f)]
    if bad:
        msg = (f"bad field name(s) {', '.join(bad)}: choose from "
               f"{', '.join(ARTICLE_FIELDS)}")
        raise ValueError(msg)
    return list(dict.fromkeys(fields))


def _project(record: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: record.get(name) for name in fields}


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str],
                fields: Sequence[str] | None = None) -> int:
    """Records as they are stored (every field), or only ``fields``."""
    names = check_fields(fields) if fields else None
    count = 0
    for record in records:
        data = _project(record, names) if names else dict(record)
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_lines(lines: Iterable[str], out: IO[str]) -> int:
    """Stored JSON lines, verbatim (``articles --format jsonl`` without ``--fields``)."""
    count = 0
    for line in lines:
        out.write(line)
        out.write("\n")
        count += 1
    return count


def write_csv(records: Iterable[dict[str, Any]], out: IO[str],
              fields: Sequence[str] | None = None) -> int:
    """One row per article; lists and objects (authors, tags, images) as JSON."""
    names = check_fields(fields)
    writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    count = 0
    for record in records:
        row = {}
        for name, value in _project(record, names).items():
            if isinstance(value, (list, dict)):
                row[name] = json.dumps(value, ensure_ascii=False)
            elif isinstance(value, bool):
                row[name] = "true" if value else "false"
            else:
                row[name] = "" if value is None else value
        writer.writerow(row)
        count += 1
    return count


def parquet_schema(fields: Sequence[str] | None = None) -> Any:
    """The Arrow schema of article records: dates as UTC timestamps, lists as lists."""
    import pyarrow as pa  # noqa: PLC0415

    string, ts = pa.string(), pa.timestamp("us", tz="UTC")
    types: dict[str, Any] = {
        "url": string, "canonical_url": string, "site": string, "title": string,
        "authors": pa.list_(string), "published": ts, "modified": ts, "language": string,
        "site_name": string, "description": string, "categories": pa.list_(string),
        "tags": pa.list_(string), "text": string, "word_count": pa.int64(),
        "images": pa.list_(pa.struct([("src", string), ("caption", string),
                                      ("credit", string)])),
        "is_accessible_for_free": pa.bool_(), "fetched_at": ts, "status": pa.int32(),
        "source": string, "version": pa.int32(), "previous": string, "warc_file": string,
        "warc_offset": pa.int64(), "warc_length": pa.int64(), "warc_record_id": string,
    }
    # fields newer than this list: strings (JSON for lists and objects)
    return pa.schema([pa.field(name, types.get(name, string))
                      for name in check_fields(fields)])


def _column_value(name: str, value: Any) -> Any:
    from pipelines.reader.archive import ARTICLE_FIELDS  # noqa: PLC0415

    if name not in ARTICLE_FIELDS:
        return value if value is None or isinstance(value, str) else json.dumps(
            value, ensure_ascii=False)
    if name in _TIMESTAMPS:
        from crawler.since import parse_timestamp  # noqa: PLC0415

        return parse_timestamp(value) if isinstance(value, str) else None
    if name == "images" and isinstance(value, list):
        return [{k: (str(i.get(k)) if i.get(k) is not None else None)
                 for k in ("src", "caption", "credit")}
                for i in value if isinstance(i, dict)]
    return value


def write_parquet(records: Iterable[dict[str, Any]], path: str | Path | IO[bytes],
                  fields: Sequence[str] | None = None, batch_size: int = 1000) -> int:
    """Write ``records`` with :func:`parquet_schema`, ``batch_size`` rows at a time
    (memory stays at one batch); the row count. An empty selection gives an empty file
    with the schema."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    schema = parquet_schema(fields)
    names = schema.names
    count = 0
    target = str(path) if isinstance(path, Path) else path
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        batch: dict[str, list[Any]] = {name: [] for name in names}
        rows = 0
        for record in records:
            for name in names:
                batch[name].append(_column_value(name, record.get(name)))
            rows += 1
            if rows >= batch_size:
                writer.write_batch(pa.RecordBatch.from_pydict(batch, schema=schema))
                count += rows
                batch = {name: [] for name in names}
                rows = 0
        if rows:
            writer.write_batch(pa.RecordBatch.from_pydict(batch, schema=schema))
            count += rows
    return count
