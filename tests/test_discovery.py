import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from parsel import Selector

from crawler.classify import is_article, page_evidence
from crawler.discovery import DiscoveryError, feed_links, parse_feed, parse_sitemap

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
<item><title>A</title><link>https://n.example/a</link>
<pubDate>Tue, 17 Nov 2026 10:00:00 +0100</pubDate></item>
<item><title>B</title><guid>https://n.example/b</guid><dc:date>2026-11-01T00:00:00Z</dc:date></item>
<item><title>no link</title></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><link rel="self" href="/self"/><link rel="alternate" href="/c"/>
<updated>2026-11-03T00:00:00Z</updated><published>2026-11-02T00:00:00Z</published></entry>
</feed>"""

NEWS_SITEMAP = b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://n.example/d</loc><lastmod>2026-01-01</lastmod><news:news>
<news:publication><news:name>N</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-18T08:00:00+01:00</news:publication_date>
<news:title>D</news:title></news:news></url></urlset>"""

INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://n.example/s1.xml.gz</loc><lastmod>2026-11-10</lastmod></sitemap>
</sitemapindex>"""


def test_rss_entries_with_dates() -> None:
    entries = parse_feed(RSS, "https://n.example/rss")
    assert [e.url for e in entries] == ["https://n.example/a", "https://n.example/b"]
    assert entries[0].date == datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    assert entries[1].date == datetime(2026, 11, 1, tzinfo=UTC)


def test_atom_uses_alternate_link_and_published_date() -> None:
    (entry,) = parse_feed(ATOM, "https://n.example/atom")
    assert entry.url == "https://n.example/c"
    assert entry.date == datetime(2026, 11, 2, tzinfo=UTC)


def test_news_sitemap_publication_date_wins_over_lastmod() -> None:
    (entry,) = parse_sitemap(NEWS_SITEMAP, "https://n.example/news.xml")
    assert entry.url == "https://n.example/d"
    assert entry.date == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)
    assert not entry.is_sitemap


def test_gzipped_sitemap_index() -> None:
    (entry,) = parse_sitemap(gzip.compress(INDEX), "https://n.example/sitemap.xml.gz")
    assert entry.is_sitemap
    assert entry.url == "https://n.example/s1.xml.gz"


def test_xml_bomb_and_external_entities_are_never_expanded() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
            b'<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<urlset><url><loc>https://n.example/&c;</loc></url>'
            b'<url><loc>https://n.example/&x;</loc></url></urlset>')
    entries = parse_sitemap(bomb, "https://n.example/s.xml")
    for entry in entries:
        assert "aaaa" not in entry.url
        assert "root:" not in entry.url


@pytest.mark.parametrize("body", [b"", b"not xml at all", b"<html><body>hi</body></html>"])
def test_bad_feeds_and_sitemaps_raise_a_clear_error(body: bytes) -> None:
    with pytest.raises(DiscoveryError, match=r"https://n\.example/x"):
        parse_feed(body, "https://n.example/x")
    with pytest.raises(DiscoveryError, match=r"https://n\.example/x"):
        parse_sitemap(body, "https://n.example/x")


def test_bad_gzip_sitemap() -> None:
    with pytest.raises(DiscoveryError, match="bad gzip"):
        parse_sitemap(b"\x1f\x8b\x08\x00garbage", "https://n.example/s.xml.gz")


def test_truncated_feed_keeps_entries_before_the_cut() -> None:
    entries = parse_feed(RSS[: RSS.index(b"<item><title>B")] + b"<item><tit",
                         "https://n.example/rss")
    assert [e.url for e in entries] == ["https://n.example/a"]


def test_feed_autodiscovery() -> None:
    sel = Selector(text="""<html><head>
      <link rel="alternate" type="application/rss+xml" href="/feeds/rss.xml">
      <link rel="alternate" type="application/atom+xml" href="https://n.example/atom">
      <link rel="alternate" hreflang="de" href="/de/">
      <link rel="stylesheet" href="/s.css"></head><body></body></html>""")
    assert feed_links(sel, "https://n.example/page") == [
        "https://n.example/feeds/rss.xml", "https://n.example/atom"]


ARTICLE_PAGE = """<html><head><meta property="og:type" content="article">
<meta property="article:published_time" content="2026-11-01T10:00:00Z"></head>
<body><article><p>{}</p></article></body></html>""".format("word " * 120)


def test_article_evidence() -> None:
    ev = page_evidence(Selector(text=ARTICLE_PAGE))
    assert ev.og_type == "article"
    assert ev.has_published_date
    assert is_article("https://n.example/x", ev)


def test_listing_pages_are_not_articles() -> None:
    listing = Selector(text="""<html><head><meta property="og:type" content="website">
    <script type="application/ld+json">{"@type": "CollectionPage"}</script></head>
    <body><ul><li><a href="/a">A</a></li></ul></body></html>""")
    assert not is_article("https://n.example/world/", page_evidence(listing))
    tag_page = Selector(text="<html><body><time datetime='2026-11-01'></time>"
                             f"<p>{'word ' * 200}</p></body></html>")
    assert not is_article("https://n.example/tag/climate/", page_evidence(tag_page))


def test_jsonld_article_type_in_graph() -> None:
    sel = Selector(text="""<html><head><script type="application/ld+json">
    {"@graph": [{"@type": "WebSite"}, {"@type": ["NewsArticle"], "headline": "H"}]}
    </script></head><body></body></html>""")
    assert is_article("https://n.example/x", page_evidence(sel))


def test_config_patterns_come_first() -> None:
    import re

    ev = page_evidence(Selector(text=ARTICLE_PAGE))
    assert not is_article("https://n.example/live/x", ev, deny=[re.compile("/live/")])
    assert not is_article("https://n.example/x", ev, allow=[re.compile(r"/\d{4}/")])
    assert is_article("https://n.example/2026/x", page_evidence(Selector(text="<p>x</p>")),
                      allow=[re.compile(r"/\d{4}/")])


def test_entries_with_unexpanded_entities_are_dropped() -> None:
    feed = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><rss><channel>'
            b"<item><link>https://n.example/&e;</link></item>"
            b"<item><link>https://n.example/ok</link></item></channel></rss>")
    assert [e.url for e in parse_feed(feed, "https://n.example/f")] == ["https://n.example/ok"]


def test_head_alone_decides_articles_that_say_so() -> None:
    from crawler.classify import declares_article, read_head

    head = read_head(ARTICLE_PAGE)
    assert head is not None
    assert declares_article(head.evidence)
    # a listing's head does not decide: the whole page is needed for a "no"
    listing = """<html><head><meta property="og:type" content="website"></head><body>
    <script type="application/ld+json">{"@type": "NewsArticle"}</script></body></html>"""
    head = read_head(listing)
    assert head is not None
    assert not declares_article(head.evidence)
    assert is_article("https://n.example/x", page_evidence(Selector(text=listing)))
    assert read_head("<p>no head at all</p>") is None


def test_head_reading_skips_comments_scripts_and_styles() -> None:
    from crawler.classify import declares_article, read_head

    head = read_head("""<HTML><HEAD>
    <!-- <meta property="og:type" content="article"> -->
    <script>var t = '<meta property="og:type" content="article">';</script>
    <style>/* <link rel="canonical" href="/wrong"> */</style>
    <SCRIPT type="application/ld+json">{"@type": "WebPage"}</SCRIPT >
    <LINK REL=canonical HREF='https://n.example/a?x=1&amp;y=2'>
    <link rel="canonical" href="https://n.example/second">
    <meta content="  Article " property="og:type">
    </head><body><script type="application/ld+json">{"@type": "NewsArticle"}</script>
    </body></html>""")
    assert head is not None
    assert head.canonical == "https://n.example/a?x=1&y=2"
    assert head.evidence.og_type == "article"
    assert head.evidence.jsonld_types == {"webpage"}  # the body's block is not the head's
    assert declares_article(head.evidence)
    commented = read_head('<head><!-- <meta property="og:type" content="article"> --> '
                          '<script>x</script></head>')
    assert commented is not None and not declares_article(commented.evidence)
    # an unterminated script swallows the rest of the page, as in a browser
    assert read_head('<head><script>var a = 1;<meta property="og:type" '
                     'content="article"></head><body></body>') is None
    in_script = read_head('<head><script>s = "</head>";</script>'
                          '<meta property="og:type" content="article"></head>')
    assert in_script is not None and declares_article(in_script.evidence)


def test_head_reading_agrees_with_the_html_parser_on_real_pages() -> None:
    """On every page of the sample site, what the head says (article or not, og:type,
    JSON-LD types, canonical link) is what lxml finds in the same head."""
    import re

    from crawler.classify import declares_article, read_head

    pages = sorted((Path(__file__).parents[1] / "crawler" / "sample_site").rglob("*.html"))
    assert len(pages) > 20
    checked = 0
    for page in pages:
        text = page.read_text(encoding="utf-8", errors="replace")
        end = re.search(r"</head\s*>", text, re.IGNORECASE)
        head = read_head(text)
        assert (head is None) == (end is None), page
        if head is None or end is None:
            continue
        parsed = Selector(text=text[:end.start()], type="html")
        evidence = page_evidence(parsed)
        assert (declares_article(head.evidence), head.evidence.og_type,
                head.evidence.jsonld_types, head.canonical) == (
            declares_article(evidence), evidence.og_type, evidence.jsonld_types,
            parsed.xpath('//link[@rel="canonical"]/@href').get()), page
        checked += 1
    assert checked > 20


def test_publication_date_and_prose_only_when_needed() -> None:
    ev = page_evidence(Selector(text="<html><body><article><time datetime='2026-11-01'>"
                                     f"</time><p>{'word ' * 90}</p><footer><p>"
                                     f"{'word ' * 50}</p></footer></article></body></html>"))
    assert ev.has_published_date
    assert ev.prose_words == 90
    assert is_article("https://n.example/x", ev)
    assert not is_article("https://n.example/x", ev, min_words=100)


def test_url_fingerprints_are_short_and_tell_urls_apart() -> None:
    from crawler.urls import url_fingerprint

    a = url_fingerprint("https://n.example/a/1")
    assert len(a) == 16
    assert a == url_fingerprint("https://n.example/a/1")
    assert a != url_fingerprint("https://n.example/a/2")


def test_a_feed_with_xml_errors_is_read_as_far_as_possible_and_named() -> None:
    from crawler.discovery import parse_feed

    body = (b"<?xml version='1.0'?><rss><channel>"
            b"<item><link>https://x.test/good</link></item>"
            b"<item><link>\x00\xff</item></rss></rss>" + bytes(range(256)))
    problems: list[str] = []
    entries = parse_feed(body, "https://x.test/feed.xml", problems)
    assert [e.url for e in entries] == ["https://x.test/good"]
    assert len(problems) == 1
    assert problems[0].startswith("feed https://x.test/feed.xml: ")
    assert "XML error" in problems[0]
    clean: list[str] = []
    parse_feed(b"<rss><channel><item><link>https://x.test/a</link></item></channel></rss>",
               "https://x.test/feed.xml", clean)
    assert clean == []
