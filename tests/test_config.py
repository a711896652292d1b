from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.config import ConfigError, load_sites, site_from_urls
from crawler.since import parse_since

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sites.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads() -> None:
    sites = load_sites(Path(__file__).parent.parent / "sites.example.toml")
    assert len(sites) >= 2
    for site in sites:
        assert site.seeds
        assert site.allowed_domains


def test_defaults_apply_and_sites_override(tmp_path: Path) -> None:
    path = write(tmp_path, """
[defaults]
depth = 1
download_delay = 2.5

[[sites]]
name = "alpha"
start_urls = ["https://alpha.example/"]

[[sites]]
name = "beta"
feeds = ["https://beta.example/rss"]
depth = 3
since = "2d"
article_allow = ['/\\d{4}/\\d{2}/']
""")
    alpha, beta = load_sites(path, now=NOW)
    assert (alpha.depth, alpha.download_delay) == (1, 2.5)
    assert alpha.allowed_domains == ("alpha.example",)
    assert beta.depth == 3
    assert beta.since_dt == datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    assert beta.compiled("article_allow")[0].search("/2026/11/x")


@pytest.mark.parametrize(("body", "fragment"), [
    ('[[sites]]\nname = "a"\nstart_urls = ["ftp://x/"]', "field 'start_urls'"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\ndepth = "two"', "field 'depth'"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\ndepht = 2', "unknown field(s) depht"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\nsince = "soon"', "field 'since'"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\narticle_allow = ["(["]',
     "bad regular expression"),
    ('[[sites]]\nname = "a b"\nstart_urls = ["https://x/"]', "field 'name'"),
    ('[[sites]]\nname = "a"', "nothing to crawl"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\n[[sites]]\nname = "a"\n'
     'feeds = ["https://y/rss"]', "used twice"),
    ("[defaults]\ndepth = 1\n", "no sites"),
    ("[[sites]\nname=", "not valid TOML"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\nconcurrency = 0',
     "field 'concurrency'"),
    ('[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\nfounded = "long ago"',
     "field 'founded'"),
])
def test_bad_config_names_file_site_and_field(tmp_path: Path, body: str,
                                               fragment: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_sites(path)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message


def test_bad_site_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sites]]\nname = "good"\nstart_urls = ["https://x/"]\n'
                           '[[sites]]\nname = "broken"\nstart_urls = ["https://y/"]\n'
                           'download_delay = -1\n')
    with pytest.raises(ConfigError, match=r"sites\[1\] \('broken'\): field 'download_delay'"):
        load_sites(path)


def test_missing_file_and_unknown_site(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_sites(tmp_path / "nope.toml")
    path = write(tmp_path, '[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\n')
    with pytest.raises(ConfigError, match="no site named 'b'"):
        load_sites(path, ["b"])
    assert [s.name for s in load_sites(path, ["a"])] == ["a"]


def test_site_from_urls_groups_by_host_and_guesses_kinds() -> None:
    sites = site_from_urls([
        "https://news.example/", "https://news.example/feeds/rss.xml",
        "https://news.example/sitemap_index.xml", "https://other.example/a/b.html"])
    by_name = {s.name: s for s in sites}
    news = by_name["news.example"]
    assert news.start_urls == ("https://news.example/",)
    assert news.feeds == ("https://news.example/feeds/rss.xml",)
    assert news.sitemaps == ("https://news.example/sitemap_index.xml",)
    assert by_name["other.example"].start_urls == ("https://other.example/a/b.html",)


def test_parse_since() -> None:
    assert parse_since("2d", NOW) == datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    assert parse_since("12h", NOW) == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert parse_since("2026-11-01") == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="'someday'"):
        parse_since("someday")


def test_founded_is_a_year_or_a_date(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sites]]\nname = "a"\nstart_urls = ["https://x/"]\nfounded = 2004\n'
                           '[[sites]]\nname = "b"\nstart_urls = ["https://y/"]\n'
                           "founded = 2010-03-01\n"
                           '[[sites]]\nname = "c"\nstart_urls = ["https://z/"]\n')
    a, b, c = load_sites(path)
    assert (a.founded, a.founded_dt) == ("2004", datetime(2004, 1, 1, tzinfo=UTC))
    assert (b.founded, b.founded_dt) == ("2010-03-01", datetime(2010, 3, 1, tzinfo=UTC))
    assert c.founded is None and c.founded_dt is None


def test_site_names_from_hosts_are_safe_path_components() -> None:
    from pipelines.storage import relative_key

    hosts = ["http://[::1]:8080/", "http://" + "a" * 70 + ".example/"]
    for url in hosts:
        (site,) = site_from_urls([url])
        relative_key("articles", site.name, datetime(2026, 1, 1, tzinfo=UTC), "f.jsonl.gz")
        assert site.allowed_domains  # scope still comes from the URL, not the name
