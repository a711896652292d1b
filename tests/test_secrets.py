"""A crawl given every kind of secret leaks none of them into any output or log."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import REPO, cli_env
from tests.redisserver import RedisServer
from tests.sites import routes_server
from tests.sites.routes_server import RoutesServer

HTTP_USER = "archivist"
HTTP_PASS = "hunter2-http-9d41c7"  # noqa: S105 - test secrets, the point is they leak nowhere
AWS_KEY_ID = "AKIAEXAMPLE7Q3Z9X1W"
AWS_SECRET = "wJalrXUtn-secret-5f0c2a77"  # noqa: S105
REDIS_PASS = "redis-pw-81b7e2d0"  # noqa: S105
COOKIE_VALUE = "cookie-val-6a2f90e1"
SECRETS = {
    "HTTP password": HTTP_PASS,
    "HTTP basic token": base64.b64encode(f"{HTTP_USER}:{HTTP_PASS}".encode()).decode(),
    "AWS access key id": AWS_KEY_ID,
    "AWS secret key": AWS_SECRET,
    "Redis password": REDIS_PASS,
    "cookie": COOKIE_VALUE,
}


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[RedisServer]:
    (tmp_path / "redis-data").mkdir()
    server = RedisServer(tmp_path / "redis-data", password=REDIS_PASS)
    yield server
    server.stop()


def _contents(path: Path) -> bytes:
    """A file's bytes, gzip (any number of members) and zlib layers removed."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    if path.suffix == ".zz":
        return zlib.decompress(data)
    return data


def test_no_secret_reaches_any_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      redis_with_password: RedisServer) -> None:
    monkeypatch.setattr(routes_server, "AUTH_USER", HTTP_USER)
    monkeypatch.setattr(routes_server, "AUTH_PASS", HTTP_PASS)
    out = tmp_path / "out"
    headers = {"Accept": "text/html,*/*;q=0.8", "Cookie": f"session={COOKIE_VALUE}"}
    with RoutesServer() as routes:
        urls = "".join(routes.url(p) + "\n" for p in ("/auth.html", "/cookies.html",
                                                       "/plain.html", "/notfound"))
        env = {**cli_env(), "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
               "AWS_SECRET_ACCESS_KEY": AWS_SECRET}
        args = ["crawl", "--urls-file", "-", "-o", str(out), "-vv",
                "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                "-s", f"HTTPAUTH_USER={HTTP_USER}", "-s", f"HTTPAUTH_PASS={HTTP_PASS}",
                "-s", f"HTTPAUTH_DOMAIN={urlsplit(routes.base_url).netloc}",
                "-s", f"AWS_ACCESS_KEY_ID={AWS_KEY_ID}",
                "-s", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
                "-s", f"STATE_URL={redis_with_password.url}",
                "-s", f"DEFAULT_REQUEST_HEADERS={json.dumps(headers)}"]
        result = subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=REPO,
                                input=urls, capture_output=True, text=True, timeout=180,
                                env=env, check=False)
        requests = dict(routes.requests)
        statuses = {r.path: r.status for r in routes.responses}
    assert result.returncode == 0, result.stderr[-3000:]
    # the secrets were used: the page behind HTTP auth and the cookie got through
    assert requests["/auth.html"].get("Authorization", "").startswith("Basic ")
    assert COOKIE_VALUE in requests["/plain.html"].get("Cookie", "")
    assert statuses["/auth.html"] == 200

    outputs = {"stdout": result.stdout.encode(), "stderr": result.stderr.encode()}
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(".warc" in p.name for p in files)
    assert any(p.suffix == ".json" and "reports" in p.parts for p in files)
    assert any("catalog" in p.parts for p in files)
    assert any(".newsarchive" in p.parts for p in files)  # state dir: journal, dedup …
    outputs |= {str(p.relative_to(out)): _contents(p) for p in files}
    leaks = [(what, name) for name, data in outputs.items()
             for what, secret in SECRETS.items() if secret.encode() in data]
    assert not leaks
    # and the log says what it hid, not nothing at all
    assert "AWS_SECRET_ACCESS_KEY': '***'" in result.stderr


def test_redactor_patterns() -> None:
    from crawler.redact import MASK, Redactor

    redact = Redactor(["known-value-123"])
    assert redact("token known-value-123 here") == f"token {MASK} here"
    assert redact("state at redis://:pw-xyz@host:6379/0") == \
        f"state at redis://:{MASK}@host:6379/0"
    assert redact("{'AWS_SECRET_ACCESS_KEY': 'abc', 'OTHER': 'x'}") == \
        f"{{'AWS_SECRET_ACCESS_KEY': '{MASK}', 'OTHER': 'x'}}"
    assert redact("headers {b'Authorization': [b'Basic dTpw']}") == \
        f"headers {{b'Authorization': [b'{MASK}']}}"
    assert redact("Cookie: a=1; b=2") == f"Cookie: {MASK}"
    assert redact("nothing to see") == "nothing to see"



REDACTION_CHECK = r'''
import io, logging, pickle, sys
from crawler.redact import MASK, install

install(["unit-secret-9f3a"])
stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setLevel(logging.INFO)
logging.basicConfig(level=logging.DEBUG, handlers=[handler])
log = logging.getLogger("check")

def fail(url):
    raise ValueError(f"can't open {url}")

try:
    fail("redis://:unit-secret-9f3a@host:6379/0")
except ValueError:
    log.exception("store %s failed", "unit-secret-9f3a")
log.info("and the stack", stack_info=True, extra={"arg": "unit-secret-9f3a"})
log.debug("never formatted %s", "unit-secret-9f3a")
record = log.makeRecord("check", logging.INFO, "f", 1, "pickled %s", ("unit-secret-9f3a",),
                        None)
print(stream.getvalue())
print(pickle.loads(pickle.dumps(record)).getMessage())
'''


def test_messages_tracebacks_and_stacks_are_redacted() -> None:
    result = subprocess.run([sys.executable, "-c", REDACTION_CHECK], cwd=REPO,
                            capture_output=True, text=True, timeout=60, check=True)
    out = result.stdout
    assert "unit-secret-9f3a" not in out + result.stderr
    assert "Traceback (most recent call last)" in out
    assert "ValueError: can't open redis://:***@host:6379/0" in out
    assert "store *** failed" in out
    assert "Stack (most recent call last)" in out
    assert "pickled ***" in out
