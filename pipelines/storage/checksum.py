"""Local checksums in the form S3 reports them (base64; ``-N`` for multipart composites)."""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = ["SUPPORTED_ALGORITHMS", "FileChecksum", "file_checksum"]

_BLOCK = 1024 * 1024


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def digest(self) -> bytes: ...


class _CRC32:
    def __init__(self) -> None:
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = zlib.crc32(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


def _new(algorithm: str) -> _Hash:
    if algorithm == "CRC32":
        return _CRC32()
    return hashlib.new(algorithm.lower())


SUPPORTED_ALGORITHMS = ("SHA256", "SHA1", "CRC32")


@dataclass(frozen=True, slots=True)
class FileChecksum:
    """``full`` is the whole-file checksum; ``composite`` the multipart form, if any."""

    algorithm: str
    size: int
    full: str
    composite: str | None
    parts: int

    def matches(self, remote: str) -> bool:
        """True if ``remote`` (as returned by ``head_object``) equals either form."""
        return remote in {self.full, self.composite}


def file_checksum(path: Path, algorithm: str, part_size: int | None) -> FileChecksum:
    """Checksum ``path`` in one pass; with ``part_size``, also the composite of its parts."""
    if algorithm not in SUPPORTED_ALGORITHMS:
        msg = f"unsupported checksum algorithm {algorithm!r}: one of {SUPPORTED_ALGORITHMS}"
        raise ValueError(msg)
    whole = _new(algorithm)
    part_digests: list[bytes] = []
    part = _new(algorithm)
    in_part = 0
    size = 0
    with path.open("rb") as f:
        while block := f.read(_BLOCK if part_size is None else min(_BLOCK, part_size - in_part)):
            whole.update(block)
            size += len(block)
            if part_size is None:
                continue
            part.update(block)
            in_part += len(block)
            if in_part == part_size:
                part_digests.append(part.digest())
                part, in_part = _new(algorithm), 0
    if part_size is not None and (in_part or not part_digests):
        part_digests.append(part.digest())
    composite = None
    if part_size is not None:
        combined = _new(algorithm)
        for digest in part_digests:
            combined.update(digest)
        composite = f"{_b64(combined.digest())}-{len(part_digests)}"
    return FileChecksum(algorithm=algorithm, size=size, full=_b64(whole.digest()),
                        composite=composite, parts=len(part_digests) if part_size else 1)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")
