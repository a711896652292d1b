"""Durable renames: the one place that fsyncs files and directories.

Every writer publishes the same way: write ``<name>.open``, fsync it, rename it to
``<name>``, fsync the directory, so a crash leaves either the whole file or no file.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["OPEN_SUFFIX", "fsync_dir", "publish_file"]

OPEN_SUFFIX = ".open"


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass
    finally:
        os.close(fd)


def publish_file(path: Path) -> Path:
    """fsync ``<name>.open``, rename it to ``<name>``, fsync the directory."""
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(path, final)
    fsync_dir(final.parent)
    return final
