"""Page metadata: declared values first, fallbacks in order, plausible dates only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from parsel import Selector

from bench.metadata import compare, declared_truth, run_newsarchive, strip_declarations
from pipelines.extract import extract_article
from pipelines.metadata import detect_language, normalize_authors, page_metadata, valid_date

NOW = datetime(2026, 11, 20, tzinfo=UTC)
SENTENCE = "The council met on Tuesday to discuss the sea wall. "
BODY = "<article><p>" + SENTENCE * 20 + "</p></article>"


def md(head: str, body: str = BODY):  # type: ignore[no-untyped-def]
    html = f"<html><head>{head}</head><body>{body}</body></html>"
    return page_metadata(Selector(text=html), "https://e.example/a", now=NOW)


def jsonld(obj: str) -> str:
    return f'<script type="application/ld+json">{obj}</script>'


def test_jsonld_wins_over_meta_and_keeps_timezone() -> None:
    m = md(jsonld('{"@type": "ReportageNewsArticle", "datePublished": "2026-11-12T08:15:00+01:00",'
                  '"dateModified": "2026-11-13T09:00:00+01:00"}')
           + '<meta property="article:published_time" content="2026-10-01T00:00:00Z">')
    assert m.published == "2026-11-12T08:15:00+01:00"
    assert m.modified == "2026-11-13T09:00:00+01:00"


def test_schema_url_types_and_graph_are_found() -> None:
    m = md(jsonld('{"@graph": [{"@type": "WebPage"}, {"@type": "http://schema.org/BlogPosting",'
                  '"headline": "A post", "datePublished": "2026-01-02"}]}'))
    assert m.title == "A post"
    assert m.published == "2026-01-02T00:00:00"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<article><time datetime="2026-05-01T10:00:00-04:00">May 1</time></article>',
         "2026-05-01T10:00:00-04:00"),
        ('<span itemprop="datePublished" content="2026-04-01T09:00:00Z"></span>',
         "2026-04-01T09:00:00+00:00"),
        ('<header><time datetime="2026-03-01">Mar 1</time></header>', "2026-03-01T00:00:00"),
    ],
)
def test_time_and_microdata_fallbacks(body: str, expected: str) -> None:
    assert md("", body + BODY).published == expected


def test_future_ancient_and_backwards_dates_are_rejected() -> None:
    assert valid_date("2999-01-01T00:00:00Z", NOW) is None
    assert valid_date("0001-01-01T00:00:00Z", NOW) is None
    assert valid_date("1990-05-01", NOW) is None
    assert valid_date("Tue, 19 Nov 2019 10:30:00 -0500", NOW) == "2019-11-19T10:30:00-05:00"
    m = md('<meta property="article:published_time" content="2026-05-02T00:00:00Z">'
           '<meta property="article:modified_time" content="2026-05-01T00:00:00Z">')
    assert m.published == "2026-05-02T00:00:00+00:00"
    assert m.modified is None


def test_authors_people_and_organisations_normalised() -> None:
    m = md(jsonld('{"@type": "NewsArticle", "author": ['
                  '{"@type": "Person", "name": "By Jane Doe"},'
                  '{"@type": "Person", "name": "jane doe"},'
                  '{"@type": "Person", "name": "John Roe"},'
                  '{"@type": "Organization", "name": "Associated Press"}]}'))
    assert m.authors == ["Jane Doe", "John Roe"]
    assert m.organisations == ["Associated Press"]


def test_byline_noise_is_not_an_author() -> None:
    assert normalize_authors(["By STEVE PEOPLES, AP National Political Writer"]) == [
        "STEVE PEOPLES"]
    assert normalize_authors(["By Jane Doe and John Roe | Updated 5:45 PM | Nov 3, 2026"]) == [
        "Jane Doe", "John Roe"]
    assert normalize_authors(["Mary-Jane O'Neill"]) == ["Mary-Jane O'Neill"]


def test_section_tags_paywall_language() -> None:
    m = md(jsonld('{"@type": "NewsArticle", "articleSection": "Local", "keywords": "a, b",'
                  '"isAccessibleForFree": "False", "inLanguage": "en_GB"}'))
    assert m.categories == ["Local"]
    assert m.tags == ["a", "b"]
    assert m.is_accessible_for_free is False
    assert m.language == "en-GB"


def test_detected_language_is_separate_from_declared() -> None:
    french = "Le conseil municipal a voté mardi pour reconstruire la digue du port. " * 5
    assert detect_language(french) == "fr"
    assert detect_language("too short") is None
    html = f'<html lang="en"><body><article><p>{french * 4}</p></article></body></html>'
    article = extract_article(html, "https://e.example/a")
    assert article.language == "en"
    assert article.language_detected == "fr"


def test_bench_truth_and_stripping() -> None:
    html = ("<html lang='en'><head><title>Sea wall vote | Post</title>"
            + jsonld('{"@type": "NewsArticle", "headline": "Sea wall vote",'
                     '"datePublished": "2026-11-12T08:15:00Z",'
                     '"author": {"@type": "Person", "name": "Jane Doe"}}')
            + '<meta property="og:site_name" content="The Post"></head>'
            + "<body><article><h1>Sea wall vote</h1><p class='byline'>By Jane Doe</p>"
            + "<time datetime='2026-11-12T08:15:00Z'>12 Nov</time>"
            + "<p>" + "Residents voted to rebuild the wall. " * 30 + "</p></article></body></html>")
    truth = declared_truth(html)
    assert truth["title"] == "Sea wall vote" and truth["authors"] == ["Jane Doe"]
    assert truth["site_name"] == "The Post"
    stripped = strip_declarations(html)
    assert "ld+json" not in stripped and "og:site_name" not in stripped
    assert declared_truth(stripped).get("title") is None
    full = compare(truth, run_newsarchive(html, "https://e.example/a"))
    assert full["title"] and full["authors"] and full["published_instant"]
    fallback = compare(truth, run_newsarchive(stripped, "https://e.example/a"))
    assert fallback["published_instant"] and fallback["language"]


def test_multiple_authors_from_the_byline_not_from_comments_or_lists() -> None:
    body = (
        '<article><header><div class="byline"><span>By <a rel="author" href="/a/jd">Jane Doe'
        '</a> and <a rel="author" href="/a/jr">John Roe</a></span></div></header>' + BODY +
        '<ol class="comment-list"><li><cite><a rel="author">A Commenter</a></cite></li></ol>'
        '<div class="most-read"><ul><li><div><div><span><a rel="author">Other Writer</a></span>'
        "</div></div></li></ul></div></article>"
    )
    assert md("", body).authors == ["Jane Doe", "John Roe"]
    comments_only = ('<div id="comments"><div class="comment-author">'
                     '<a rel="author">A Commenter</a></div></div>')
    assert md("", BODY + comments_only).authors == []


def test_byline_roles_and_datelines_are_not_names() -> None:
    assert normalize_authors(["Yasmin Adler  -  Staff Writer"]) == ["Yasmin Adler"]
    assert normalize_authors(["Monday November", "Nov.", "Jane Doe"]) == ["Jane Doe"]


FETCHED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def fetched_md(body: str):  # type: ignore[no-untyped-def]
    html = f"<html><body>{body}{BODY}</body></html>"
    return page_metadata(Selector(text=html), "https://e.example/a", now=FETCHED,
                         fetched=FETCHED)


def test_relative_dates_count_from_the_fetch() -> None:
    m = fetched_md('<header><p class="byline">By Jane Doe · <time>3 hours ago</time></p>'
                   '<span class="updated">Updated 40 minutes ago</span></header>')
    assert m.published == "2026-11-20T07:00:00+00:00"
    assert m.modified == "2026-11-20T09:20:00+00:00"
    m = fetched_md('<div class="article-date">Published 2 days ago | Updated yesterday</div>')
    assert (m.published, m.modified) == ("2026-11-18T00:00:00", "2026-11-19T00:00:00")


def test_relative_dates_need_a_fetch_time_and_skip_other_articles() -> None:
    byline = '<p class="byline"><time>3 hours ago</time></p>'
    assert md("", byline + BODY).published is None  # no fetch time: nothing to count from
    teasers = ('<aside><span class="date">1 hour ago</span></aside>'
               '<a href="/b"><time>2 hours ago</time></a>'
               '<div class="comment"><div class="date">5 days ago</div></div>')
    assert fetched_md(teasers).published is None


def test_updated_stamp_is_the_modified_date_not_the_published_one() -> None:
    m = md("", '<article><p>Updated <time datetime="2026-11-13T10:28:00-05:00">Nov 13</time>'
               "</p></article>" + BODY)
    assert m.published is None
    assert m.modified == "2026-11-13T10:28:00-05:00"
    m = md("", '<article><p>Published: <time datetime="2026-11-12T20:59:00-06:00">Nov 12</time>'
               ' | Updated: <time datetime="2026-11-12T22:16:00-06:00">10:16 pm</time></p>'
               '<a href="/other"><time datetime="2026-11-19T00:00:00Z">1 h</time></a>'
               "</article>" + BODY)
    assert m.published == "2026-11-12T20:59:00-06:00"
    assert m.modified == "2026-11-12T22:16:00-06:00"


def test_dates_in_other_timezones_compare_by_instant() -> None:
    # modified is later as a moment though "2026-11-12T07:30Z" < "2026-11-12T08:15+01:00"
    # as text: it must not be dropped as "modified before published"
    m = md('<meta property="article:published_time" content="2026-11-12T08:15:00+01:00">'
           '<meta property="article:modified_time" content="2026-11-12T07:30:00Z">')
    assert m.modified == "2026-11-12T07:30:00+00:00"
    # just published east of UTC: a local date ahead of the UTC clock is not "in the future"
    assert valid_date("2026-11-20T09:00:00+14:00", NOW) == "2026-11-20T09:00:00+14:00"
    # a date without a zone stays without one (none is invented)
    assert valid_date("2026-11-19T23:00:00", NOW) == "2026-11-19T23:00:00"


def test_copyright_year_is_not_a_publication_date() -> None:
    html = ("<html><head><title>Sea wall</title></head><body><article><h1>Sea wall</h1>"
            f"<p>{SENTENCE * 20}</p></article><footer>© 2019 The Post</footer></body></html>")
    assert extract_article(html, "https://e.example/a").published is None
