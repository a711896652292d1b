import json
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.utils.defer import deferred_f_from_coro_f

from pipelines.extract import ExtractionOptions, extract_article
from pipelines.pool import ExtractionPool

FIXTURES = Path(__file__).parent / "sites" / "extract"
URL = "https://coastal.example/news/2026/11/harbour-sea-wall/"


@pytest.fixture(scope="module")
def article():  # type: ignore[no-untyped-def]
    return extract_article((FIXTURES / "wordpress-article.html").read_bytes(), URL)


def test_metadata_fields(article) -> None:  # type: ignore[no-untyped-def]
    assert article.title == "Harbour town votes to rebuild its sea wall"
    assert article.authors == ["Morwenna Tregear", "Idris Pascoe"]
    assert article.published == "2026-11-12T08:15:00+00:00"
    assert article.modified == "2026-11-13T17:40:00+00:00"
    assert article.language == "en-GB"
    assert article.site_name == "The Coastal Post"
    assert article.description.startswith("Residents of Porthmere")
    assert article.categories == ["Local"]
    assert {"Flooding", "Porthmere"} <= set(article.tags)
    assert article.is_accessible_for_free is False
    # the canonical link carries a tracking parameter: it is stripped
    assert article.canonical_url == URL


def test_text_keeps_the_article_in_order(article) -> None:  # type: ignore[no-untyped-def]
    text = article.text
    order = ["Residents of Porthmere have voted", "1,412 people took part",
             "A long wait for funding", "living behind sandbags",
             "Option three: full reconstruction", "Work could start in 2028"]
    positions = [text.index(fragment) for fragment in order]
    assert positions == sorted(positions)
    assert article.word_count == len(text.split())


@pytest.mark.parametrize("boilerplate", [
    "Leave a Comment", "Your email address will not be published", "bloggers like this",
    "Photo: Reuters", "Share this", "Click to share", "Sign up for our newsletter",
    "All rights reserved", "Read more", "Storm closes coast road", "Like Loading",
    "By Morwenna Tregear",
])
def test_boilerplate_is_gone(article, boilerplate: str) -> None:  # type: ignore[no-untyped-def]
    assert boilerplate not in article.text


def test_caption_printed_twice_is_kept_out_of_text_but_in_images(article) -> None:  # type: ignore[no-untyped-def]
    assert "Waves break over the damaged sea wall" not in article.text
    (image,) = article.images
    assert image.src == "https://coastal.example/img/wall.jpg"
    assert image.caption == "Waves break over the damaged sea wall at Porthmere in October."
    assert image.credit == "Photo: Reuters"


def test_empty_and_broken_html_give_an_empty_article() -> None:
    assert extract_article("", "https://e.example/x").text == ""
    broken = extract_article(b"<html><body><p>Half a para", "https://e.example/x")
    assert broken.url == "https://e.example/x"
    assert broken.word_count == len(broken.text.split())


def test_future_and_ancient_dates_are_rejected() -> None:
    html = ('<html><head><meta property="article:published_time" content="2999-01-01T00:00:00Z">'
            '<meta property="article:modified_time" content="1970-01-01T00:00:00Z"></head>'
            f'<body><article><p>{"Plain words here. " * 60}</p></article></body></html>')
    article = extract_article(html, "https://e.example/x")
    assert article.published is None or not article.published.startswith("2999")
    assert article.modified is None


def test_options_are_built_once_with_an_overlay(tmp_path: Path) -> None:
    overlay = tmp_path / "trafilatura.cfg"
    overlay.write_text("[DEFAULT]\nMIN_EXTRACTED_SIZE = 12345\n")
    options = ExtractionOptions.build(str(overlay), favor_precision=True)
    assert options.config.getint("DEFAULT", "MIN_EXTRACTED_SIZE") == 12345
    assert options.config.getint("DEFAULT", "EXTRACTION_TIMEOUT") == 0
    assert options.favor_precision


def test_cli_extract_json_and_stdin() -> None:
    html = (FIXTURES / "wordpress-article.html").read_bytes()
    out = subprocess.run([sys.executable, "-m", "crawler.cli", "extract", "-", "--url", URL,
                          "--format", "json"], input=html, capture_output=True, check=True)
    data = json.loads(out.stdout)
    assert data["title"] == "Harbour town votes to rebuild its sea wall"
    assert "Residents of Porthmere" in data["text"]
    txt = subprocess.run([sys.executable, "-m", "crawler.cli", "extract",
                          str(FIXTURES / "wordpress-article.html"), "--url", URL],
                         capture_output=True, check=True, text=True)
    assert txt.stdout.startswith("Residents of Porthmere")


def test_cli_extract_without_text_exits_non_zero(tmp_path: Path) -> None:
    page = tmp_path / "empty.html"
    page.write_text("<html><head><title>t</title></head><body></body></html>")
    result = subprocess.run([sys.executable, "-m", "crawler.cli", "extract", str(page),
                             "--url", "https://e.example/"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert "no article text" in result.stderr


BR_PARAGRAPHS = [
    "The council approved four new bus routes on Tuesday, the biggest change to the network "
    "in a decade, after a year of consultation with residents.",
    "The routes will start in March and run every ten minutes at peak times, the transport "
    "committee said in a statement released after the vote.",
    "Opponents said the plan ignores the northern suburbs, where many residents still rely on "
    "a single hourly service to reach the city centre.",
]


def test_first_paragraph_written_as_loose_text_before_br_is_kept() -> None:
    # An old-style template: the body is one <div> of <br><br>-separated text inside a frame
    # that also holds <p> paragraphs; trafilatura alone drops the div's own leading text.
    first = BR_PARAGRAPHS[0]
    body = (f'{first[:60]}<em><a href="/source">{first[60:90]}</a></em>{first[90:]}\n<br> <br>'
            + "\n<br> <br>".join(BR_PARAGRAPHS[1:]) + "<br><br>")
    notes = "".join(
        f"<p>Editor's note {i}: this series follows the city's transport plans through the "
        "year, with reporting from every district and interviews with the people who ride the "
        "buses each day.</p>"
        for i in range(5))
    html = (f'<html><body><div id="main"><div class="article"><h1>Buses</h1>'
            '<div class="byline">Monday by <a>Jane Doe</a></div>'
            f'<div class="content">{body}</div>{notes}</div></div></body></html>')
    text = extract_article(html, "https://bugle.example/news/buses/").text
    positions = [text.index(p) for p in BR_PARAGRAPHS]
    assert positions == sorted(positions)


def test_embedded_tweet_in_a_widget_wrapper_is_kept_as_a_quote() -> None:
    tweet = "The new routes start on Monday and every ticket will be valid on all of them."
    html = (
        "<html><body><article><h1>Bus routes</h1>"
        + "".join(f"<p>{p}</p>" for p in BR_PARAGRAPHS[:2])
        + '<div class="story-widget story-tweet"><div class="story-tweet__inner">'
        f'<blockquote class="twitter-tweet"><p lang="en">{tweet}</p>— City Transit '
        '(@citytransit) <a href="https://twitter.com/citytransit/status/1">November 20, 2026</a>'
        '</blockquote><script async src="https://platform.twitter.com/widgets.js"></script>'
        f"</div></div><p>{BR_PARAGRAPHS[2]}</p></article></body></html>"
    )
    text = extract_article(html, "https://bugle.example/news/routes/").text
    positions = [text.index(p) for p in (BR_PARAGRAPHS[1], tweet, BR_PARAGRAPHS[2])]
    assert positions == sorted(positions)


def test_wordpress_classic_caption_goes_to_images_not_text() -> None:
    caption = "Fishing boats wait in the harbour at dawn on Tuesday."
    html = (
        "<html><body><article><h1>Harbour</h1>"
        + "".join(f"<p>{p}</p>" for p in BR_PARAGRAPHS[:2])
        + '<div id="attachment_12" class="wp-caption aligncenter">'
        '<img src="/wp-content/uploads/boats.jpg" alt="">'
        f'<p class="wp-caption-text">{caption} <span class="credit">Jane Doe/Reuters</span></p>'
        f"</div><p>{BR_PARAGRAPHS[2]}</p></article></body></html>"
    )
    article = extract_article(html, "https://bugle.example/news/harbour/")
    (image,) = article.images
    assert image.src == "https://bugle.example/wp-content/uploads/boats.jpg"
    assert image.caption == caption
    assert image.credit == "Jane Doe/Reuters"
    assert "Fishing boats" not in article.text
    assert all(p in article.text for p in BR_PARAGRAPHS)


async def _fill(pool: ExtractionPool, page: str, count: int) -> tuple[bool, int]:
    import asyncio

    tasks = [asyncio.create_task(pool.extract(page, f"https://n.example/{i}"))
             for i in range(count)]
    await asyncio.sleep(0)  # every task has tried to enter the pool
    assert pool._semaphore is not None
    waiting = pool._semaphore.locked()
    done = await asyncio.gather(*tasks)
    return waiting, sum(1 for article in done if article.text)


@deferred_f_from_coro_f
async def test_pages_waiting_for_extraction_are_bounded() -> None:
    """The pool takes at most TRAFILATURA_MAX_PENDING pages (default six per worker); the
    next page waits, and with it Scrapy's scraper and downloads."""
    from scrapy.utils.test import get_crawler

    from crawler.spiders.news import NewsSpider
    from pipelines.extract import ExtractPipeline

    page = "<html><body><article><p>" + "A sentence of the article. " * 40 + \
        "</p></article></body></html>"
    on = {"TRAFILATURA_ENABLED": True, "TRAFILATURA_PROCESSES": 1}
    for settings, expected in ((on, 6),
                               ({**on, "TRAFILATURA_MAX_PENDING": 2}, 2)):
        pipeline = ExtractPipeline.from_crawler(get_crawler(NewsSpider, settings))
        assert pipeline.pool.max_pending == expected
        try:
            waiting, extracted = await _fill(pipeline.pool, page, expected + 3)
        finally:
            pipeline.close_spider()
        assert waiting  # the pool was full: later pages waited their turn
        assert extracted == expected + 3  # and all were extracted once it drained
