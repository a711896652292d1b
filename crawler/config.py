"""Site configuration: the ``sites.toml`` file of scheduled crawls, and one-off runs.

A bad file fails before any request with a ``ConfigError`` naming the file, the site and
the field.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from crawler.since import parse_since
from crawler.urls import host_of
from pipelines.paths import safe_component

if TYPE_CHECKING:
    from crawler.report import HealthConfig

__all__ = ["ConfigError", "SiteConfig", "load_config", "load_sites", "override_sites",
           "site_from_urls"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigError(ValueError):
    """A configuration problem, with a message that names where it is."""


@dataclass(frozen=True)
class SiteConfig:
    """One site to crawl. Field names are the keys of a ``[[sites]]`` table."""

    name: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    article_allow: tuple[str, ...] = ()
    article_deny: tuple[str, ...] = ()
    follow_deny: tuple[str, ...] = ()
    depth: int | None = None
    download_delay: float | None = None
    concurrency: int | None = None
    since: str | None = None
    max_articles: int | None = None
    robots_sitemaps: bool = True
    feed_autodiscovery: bool = True
    follow_article_links: bool = False
    founded: str | None = None
    # derived, not read from the file
    since_dt: datetime | None = field(default=None, compare=False)
    founded_dt: datetime | None = field(default=None, compare=False)

    @property
    def seeds(self) -> tuple[str, ...]:
        return self.start_urls + self.feeds + self.sitemaps

    def compiled(self, name: str) -> list[re.Pattern[str]]:
        return [re.compile(p) for p in getattr(self, name)]


_LISTS = {"start_urls", "feeds", "sitemaps", "allowed_domains", "article_allow",
          "article_deny", "follow_deny"}
_URL_LISTS = {"start_urls", "feeds", "sitemaps"}
_REGEX_LISTS = {"article_allow", "article_deny", "follow_deny"}
_BOOLS = {"robots_sitemaps", "feed_autodiscovery", "follow_article_links"}
_FILE_FIELDS = {f.name for f in fields(SiteConfig)} - {"since_dt", "founded_dt"}


def _check_url(where: str, key: str, url: Any) -> str:
    if not isinstance(url, str):
        raise ConfigError(f"{where}: field {key!r}: expected a URL string, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: field {key!r}: {url!r} is not an http(s) URL")
    return url


def _build(where: str, raw: dict[str, Any], now: datetime | None) -> SiteConfig:
    unknown = set(raw) - _FILE_FIELDS
    if unknown:
        names = ", ".join(sorted(unknown))
        known = ", ".join(sorted(_FILE_FIELDS))
        raise ConfigError(f"{where}: unknown field(s) {names} (known fields: {known})")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{where}: field 'name': expected a short name of letters, digits, '.', '_' or "
            f"'-', got {name!r}")
    where = f"{where} ({name!r})"
    values: dict[str, Any] = {"name": name}
    for key in _LISTS:
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: field {key!r}: expected a list, got {value!r}")
        if key in _URL_LISTS:
            value = [_check_url(where, key, v) for v in value]
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(f"{where}: field {key!r}: expected strings, got {item!r}")
            if key in _REGEX_LISTS:
                try:
                    re.compile(item)
                except re.error as exc:
                    raise ConfigError(
                        f"{where}: field {key!r}: bad regular expression {item!r}: {exc}"
                    ) from None
        values[key] = tuple(value)
    for key in _BOOLS:
        if key in raw:
            if not isinstance(raw[key], bool):
                raise ConfigError(f"{where}: field {key!r}: expected true or false, "
                                  f"got {raw[key]!r}")
            values[key] = raw[key]
    for key, minimum in (("depth", 0), ("concurrency", 1), ("max_articles", 1)):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ConfigError(f"{where}: field {key!r}: expected an integer >= {minimum}, "
                                  f"got {value!r}")
            values[key] = value
    if "download_delay" in raw:
        value = raw["download_delay"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: field 'download_delay': expected seconds >= 0, "
                              f"got {value!r}")
        values["download_delay"] = float(value)
    if "since" in raw:
        value = raw["since"]
        if isinstance(value, datetime):
            value = value.isoformat()
        if not isinstance(value, str):
            value = str(value)
        try:
            values["since_dt"] = parse_since(value, now)
        except ValueError as exc:
            raise ConfigError(f"{where}: field 'since': {exc}") from None
        values["since"] = value
    if "founded" in raw:
        values["founded"], values["founded_dt"] = _founded(where, raw["founded"])
    site = SiteConfig(**values)
    if not site.seeds:
        raise ConfigError(f"{where}: no start_urls, feeds or sitemaps: nothing to crawl")
    if not site.allowed_domains:
        site = _with_default_domains(site)
    return site


def _founded(where: str, value: Any) -> tuple[str, datetime]:
    """``founded = 2004`` or ``"2004-03-01"``: no article of the site is older (UTC)."""
    text = str(value.isoformat() if isinstance(value, date) else value).strip()
    try:
        if isinstance(value, int | str) and not isinstance(value, bool) and text.isdigit():
            parsed = datetime(int(text), 1, 1, tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(text)
            parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: field 'founded': expected a year or an ISO date "
                          f"(2004, \"2004-03-01\"), got {value!r}") from None
    return text, parsed


def _with_default_domains(site: SiteConfig) -> SiteConfig:
    from dataclasses import replace  # noqa: PLC0415

    hosts = sorted({host_of(u) for u in site.seeds})
    return replace(site, allowed_domains=tuple(hosts))


def load_sites(path: str | Path, only: list[str] | None = None,
               now: datetime | None = None) -> list[SiteConfig]:
    """Read and validate a ``sites.toml`` file; ``only`` selects sites by name."""
    return load_config(path, only, now)[0]


_HEALTH_INTS = ("min_articles", "max_blocked", "max_missing_date", "max_empty_text")


def _health(path: Path, raw: Any) -> HealthConfig:
    from crawler.report import HealthConfig  # noqa: PLC0415
    from crawler.state.schedule import parse_schedule  # noqa: PLC0415

    where = f"{path}: [health]"
    if raw is None:
        return HealthConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    known = {*_HEALTH_INTS, "max_error_rate", "source_silence"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                          f"(known fields: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for key in _HEALTH_INTS:
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}: field {key!r}: expected an integer >= 0, "
                                  f"got {value!r}")
            values[key] = value
    if "max_error_rate" in raw:
        value = raw["max_error_rate"]
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not 0 <= value <= 1:
            raise ConfigError(f"{where}: field 'max_error_rate': expected a share between "
                              f"0 and 1, got {value!r}")
        values["max_error_rate"] = float(value)
    if "source_silence" in raw:
        try:
            (values["source_silence"],) = parse_schedule([str(raw["source_silence"])])
        except ValueError as exc:
            raise ConfigError(f"{where}: field 'source_silence': {exc}") from None
    return HealthConfig(**values)


def load_config(path: str | Path, only: list[str] | None = None,
                now: datetime | None = None) -> tuple[list[SiteConfig], HealthConfig]:
    """Sites and health thresholds of a ``sites.toml`` file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: can't read the config file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"defaults", "sites", "health"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                          "(expected [defaults], [health] and [[sites]])")
    health = _health(path, data.get("health"))
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{path}: [defaults] must be a table")
    if "name" in defaults:
        raise ConfigError(f"{path}: [defaults]: field 'name' belongs to each site")
    raw_sites = data.get("sites")
    if not isinstance(raw_sites, list) or not raw_sites:
        raise ConfigError(f"{path}: no sites: add at least one [[sites]] table")
    sites: list[SiteConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sites):
        where = f"{path}: sites[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table")
        site = _build(where, {**defaults, **raw}, now)
        if site.name in seen:
            raise ConfigError(f"{where}: field 'name': {site.name!r} is used twice")
        seen.add(site.name)
        sites.append(site)
    if only:
        missing = [n for n in only if n not in seen]
        if missing:
            raise ConfigError(f"{path}: no site named {', '.join(map(repr, missing))} "
                              f"(sites: {', '.join(sorted(seen))})")
        sites = [s for s in sites if s.name in only]
    return sites, health


def override_sites(sites: list[SiteConfig], *, since: str | None = None,
                   depth: int | None = None, max_articles: int | None = None,
                   ) -> list[SiteConfig]:
    """Command-line ``--since``, ``--depth`` and ``--max-articles`` over configured sites."""
    from dataclasses import replace  # noqa: PLC0415

    overrides: dict[str, Any] = {}
    if depth is not None:
        overrides["depth"] = depth
    if max_articles is not None:
        overrides["max_articles"] = max_articles
    if since:
        overrides["since"], overrides["since_dt"] = since, parse_since(since)
    return [replace(s, **overrides) for s in sites]


def site_from_urls(urls: list[str], *, depth: int | None = None, since: str | None = None,
                   max_articles: int | None = None, now: datetime | None = None,
                   ) -> list[SiteConfig]:
    """One-off runs: one site per host of the given URLs.

    URLs ending in ``.xml``/``.xml.gz`` or containing ``sitemap`` are taken as sitemaps,
    ``rss``/``atom``/``feed`` URLs as feeds, the rest as start pages.
    """
    by_host: dict[str, dict[str, list[str]]] = {}
    for url in urls:
        _check_url("command line", "URL", url)
        kind = _guess_kind(url)
        by_host.setdefault(host_of(url), {"start_urls": [], "feeds": [], "sitemaps": []})
        by_host[host_of(url)][kind].append(url)
    sites = []
    for host, seeds in by_host.items():
        # the site's name becomes a path component and object key: an IPv6 literal or an
        # overlong host gets a safe name instead
        name = host if _NAME.match(host) else safe_component(host.replace(":", "."), 64)
        raw: dict[str, Any] = {"name": name, **{k: v for k, v in seeds.items() if v}}
        if depth is not None:
            raw["depth"] = depth
        if since is not None:
            raw["since"] = since
        if max_articles is not None:
            raw["max_articles"] = max_articles
        sites.append(_build("command line", raw, now))
    return sites


def _guess_kind(url: str) -> str:
    path = urlsplit(url).path.lower()
    last = path.rsplit("/", 1)[-1]
    if "sitemap" in last or last.endswith((".xml.gz",)):
        return "sitemaps"
    if any(w in path for w in ("rss", "atom", "/feed")) or last.endswith((".rss", ".atom")):
        return "feeds"
    return "start_urls"
