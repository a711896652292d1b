"""Shared fixtures: real HTTP servers on 127.0.0.1 and a way to run the CLI."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Every test server is on loopback, which the crawler refuses by default (EGRESS_ALLOW);
# crawls started by tests, in-process or as subprocesses, allow it through this default.
# Tests of the refusal itself narrow it with ``-s EGRESS_ALLOW=...``.
os.environ["NEWSARCHIVE_EGRESS_ALLOW"] = "127.0.0.0/8,::1"

REPO = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[str]
    root: Path

    def url(self, path: str) -> str:
        return self.base_url + path


def start_server(root: Path | None = None) -> Server:
    """``python -m crawler.sample_site.server`` on a free port; it prints its base URL."""
    args = [sys.executable, "-m", "crawler.sample_site.server", "--port", "0"]
    if root is not None:
        args += ["--root", str(root)]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=REPO)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"test server did not start: {line!r} {err}")
    from crawler.sample_site import SITE_ROOT

    return Server(line.rstrip("/"), process, root or SITE_ROOT)


def stop_server(server: Server) -> None:
    server.process.kill()
    server.process.communicate()


@pytest.fixture(scope="session")
def sample_site() -> Iterator[Any]:
    """The bundled sample site, served in this process so tests can read its ``hits``."""
    from crawler.sample_site import SampleSiteServer

    with SampleSiteServer() as server:
        yield server


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    from crawler.sample_site import load_manifest

    return load_manifest()


@pytest.fixture
def fixture_site(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A targeted fixture site: ``@pytest.mark.parametrize('fixture_site', ['name'],
    indirect=True)`` serves ``tests/sites/<name>/``."""
    server = start_server(SITES / request.param)
    yield server
    stop_server(server)


def cli_env() -> dict[str, str]:
    """The environment the CLI runs in: unbuffered, its own project settings."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    return env


def run_cli(*args: str, cwd: Path | None = None, input_text: str | None = None,
            timeout: float = 180, fast: bool = True) -> subprocess.CompletedProcess[str]:
    """``newsarchive ARGS``; ``fast`` adds no-delay settings to crawls (a later ``-s``
    wins, so a test that wants its own delays passes ``fast=False``)."""
    if fast and args and args[0] == "crawl" and "--help" not in args:
        # local servers: no politeness delays (the defaults are tested in test_spider.py)
        args = (*args, "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=cwd or REPO,
                          capture_output=True, text=True, input=input_text, timeout=timeout,
                          env=cli_env(), check=False)


def read_articles(output: Path) -> list[dict[str, Any]]:
    """Every article record under ``output/articles``, from published files only."""
    records = []
    for path in sorted(output.glob("articles/**/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records.extend(json.loads(line) for line in handle)
    return records
