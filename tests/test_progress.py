"""Progress line on a terminal, none for cron."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO, run_cli


def test_progress_line_on_a_terminal(sample_site: Any, manifest: dict[str, Any],
                                     tmp_path: Path) -> None:
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "crawl",
             sample_site.base_url + manifest["feeds"]["rss"], "-o", str(tmp_path),
             "-s", "PROGRESS_INTERVAL=0.2"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not data:
                break
            chunks.append(data)
        assert process.wait(timeout=120) == 0
    finally:
        os.close(master)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "\rpages " in shown
    assert "| articles " in shown
    assert "pages/s" in shown


def test_no_progress_line_when_not_a_terminal(sample_site: Any, manifest: dict[str, Any],
                                              tmp_path: Path) -> None:
    result = run_cli("crawl", sample_site.base_url + manifest["feeds"]["rss"], "-o",
                     str(tmp_path), "-s", "PROGRESS_INTERVAL=0.2")
    assert result.returncode == 0
    assert "\r" not in result.stderr
    assert "pages/s" not in result.stderr
