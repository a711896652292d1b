"""Keep credentials out of the log: every record is redacted when it is formatted.

Scrapy logs the overridden settings at startup (``AWS_SECRET_ACCESS_KEY`` given with
``-s`` included), request headers in debug messages, and URLs that may carry a password
(``redis://:pw@host``). ``RedactLogs`` (an extension, created before that first log line)
installs a log record factory whose records replace, in their message, exception text and
stack:

- the values of the secret settings in force (``REDACT_SETTINGS``: AWS keys, HTTP auth and
  proxy passwords, the state URL's password, ``Authorization``/``Cookie`` request headers);
- anything that looks like one: ``…SECRET…/…PASS…/…TOKEN…`` keys with their values,
  ``Authorization``/``Proxy-Authorization``/``Cookie`` header values, and the password of
  ``scheme://user:password@`` URLs.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote, urlsplit

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

__all__ = ["MASK", "RedactLogs", "RedactedLogRecord", "Redactor", "install", "secrets_in"]

MASK = "***"
_KEY_VALUE = re.compile(
    # the key starts where a run of [\w-] starts (not at every \b inside it): a long hyphenated
    # URL in a log line made this search quadratic (0.6 s for 6,000 characters)
    r"""(?P<key>['"]?(?<![\w-])[\w-]*(?:SECRET|PASSWORD|PASSWD|_PASS|TOKEN|ACCESS_KEY|API_KEY)"""
    r"""[\w-]*['"]?\s*[:=]\s*)(?P<q>['"]?)(?P<value>[^'"\s,}]+)(?P=q)""", re.IGNORECASE)
_HEADER = re.compile(
    r"""(?P<key>\b(?:Proxy-)?Authorization|\bCookie)(?P<sep>['"]?\s*[:=]\s*\[?\s*b?)"""
    r"""(?P<q>['"]?)(?P<value>[^'"\n]+)""", re.IGNORECASE)
_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^/\s:@'\"]*):"
                       r"(?P<password>[^/\s@'\"]+)@", re.IGNORECASE)


def _url_password(url: str) -> list[str]:
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password, unquote(password)] if password else []


def secrets_in(settings: BaseSettings, names: Iterable[str]) -> set[str]:
    """The secret values among ``settings``: each named setting's value, passwords in URL
    settings, and credential headers of ``DEFAULT_REQUEST_HEADERS``."""
    found: set[str] = set()
    for name in names:
        value = settings.get(name)
        if isinstance(value, str) and value:
            found.add(value)
            found.update(_url_password(value))
    for key in ("ARCHIVE_STORE", "STATE_URL", "REDIS_URL"):
        value = settings.get(key)
        if isinstance(value, str):
            found.update(_url_password(value))
    headers = settings.getdict("DEFAULT_REQUEST_HEADERS")
    for key, value in headers.items():
        if str(key).lower() in {"authorization", "proxy-authorization", "cookie"} and value:
            found.add(str(value))
            # and each cookie's value on its own (a log may show one of them)
            found.update(part.split("=", 1)[1].strip() for part in str(value).split(";")
                         if "=" in part and len(part.split("=", 1)[1].strip()) >= 6)
    return {s for s in found if len(s) >= 4}


class Redactor:
    """Replaces secrets (known values and recognisable patterns) in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted(set(self.secrets) | set(secrets), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        if "@" in text:  # no userinfo without one (and its search is slow on long runs)
            text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
        text = _HEADER.sub(lambda m: f"{m['key']}{m['sep']}{m['q']}{MASK}", text)
        return _KEY_VALUE.sub(lambda m: f"{m['key']}{m['q']}{MASK}{m['q']}", text)


_REDACTOR = Redactor()
_INSTALLED = False
_LOCK = threading.Lock()


class _RedactedText:
    """A record attribute (``exc_text``, ``stack_info``) stored as set, read redacted."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, record: object, owner: type | None = None) -> Any:
        if record is None:  # looked up on the class
            return self
        value: str | None = record.__dict__.get(self.name)
        return _REDACTOR(value) if value else value

    def __set__(self, record: object, value: str | None) -> None:
        record.__dict__[self.name] = value


class _Redacting:
    """Redaction for a ``LogRecord`` class: the message, the formatted exception (a
    traceback quotes URLs and arguments) and the stack, each when a handler reads it."""

    exc_text = _RedactedText()
    stack_info = _RedactedText()

    def getMessage(self) -> str:
        return _REDACTOR(super().getMessage())  # type: ignore[misc]


class RedactedLogRecord(_Redacting, logging.LogRecord):
    """A log record whose message, exception text and stack are redacted when formatted."""


_REDACTING: dict[type[logging.LogRecord], type[logging.LogRecord]] = {
    logging.LogRecord: RedactedLogRecord, RedactedLogRecord: RedactedLogRecord}


def _redacting(record_class: type[logging.LogRecord]) -> type[logging.LogRecord]:
    """``record_class`` with the redaction of :class:`RedactedLogRecord`.

    Redaction happens when a handler formats the record, not when it is made: a crawl makes
    a debug record per item (its repr holds the whole page) that no handler at ``INFO``
    ever formats, and redacting those cost more CPU than fetching and archiving the page.
    """
    subclass = _REDACTING.get(record_class)
    if subclass is None:
        subclass = type(f"Redacted{record_class.__name__}", (_Redacting, record_class),
                        {"__module__": __name__})
        _REDACTING[record_class] = subclass
        _REDACTING[subclass] = subclass
    return subclass


def install(secrets: Iterable[str] = ()) -> Redactor:
    """Redact every log record made from now on in this process (idempotent)."""
    global _INSTALLED  # noqa: PLW0603 - one record factory per process
    with _LOCK:
        _REDACTOR.add(secrets)
        if not _INSTALLED:
            previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                record.__class__ = _redacting(type(record))
                return record

            logging.setLogRecordFactory(factory)
            _INSTALLED = True
    return _REDACTOR


class RedactLogs:
    """Extension: installs the redaction with the secrets of this crawler's settings."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        if not settings.getbool("REDACT_ENABLED"):
            raise NotConfigured
        install(secrets_in(settings, settings.getlist("REDACT_SETTINGS")))
        return cls()
