"""Line-level news cleaning: each rule removes its lines, real article text stays, in order."""

from __future__ import annotations

import pytest

from pipelines.cleaning import (
    DOM_RULES,
    RULES,
    clean_lines,
    clean_text,
    lift_embedded_posts,
    prune_tree,
    wrap_lead_text,
)

P1 = (
    "The city council voted on Tuesday to expand the bus network, adding four routes that will "
    "serve neighbourhoods on the east side for the first time."
)
P2 = (
    "“We have waited ten years for this,” said Maria Lopez, who has lived in the district since "
    "1998. “Now my children can get to school without a car.”"
)
P3 = (
    "The plan still needs approval from the state transport authority, which is expected to "
    "rule in the spring."
)


def body(*extra_lines: str, before: tuple[str, ...] = ()) -> str:
    return "\n".join([*before, P1, P2, P3, *extra_lines])


def assert_removed(text: str, removed: list[str], **kwargs: object) -> None:
    out = clean_text(text, **kwargs)  # type: ignore[arg-type]
    out_lines = out.splitlines()
    for line in removed:
        assert line not in out_lines, f"{line!r} should have been removed"
    for para in (P1, P2, P3):
        assert para in out_lines
    assert [x for x in out_lines if x in (P1, P2, P3)] == [P1, P2, P3]


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "line",
    [
        "Credit: EPA",
        "Photo: Reuters",
        "Photograph: Jane Doe/Getty Images",
        "Photos: Kevin Smith / The Daily Bugle",
        "© Getty Images",
        "(AP Photo/Evan Vucci)",
        "Image copyright Getty Images",
        "Image caption Protesters gathered outside parliament on Monday",
        "Credit...Doug Mills/The New York Times",
        "Main image credit: Getty",
        "Protesters outside the court, photos © Jane Doe, 2018",
        "The new bridge at dusk. Photo: City of Springfield",
        "Fans celebrate in the square (Photo by John Roe/Getty Images)",
    ],
)
def test_photo_credit_lines_removed(line: str) -> None:
    text = "\n".join([P1, line, P2, P3])
    assert_removed(text, [line])


def test_caption_repeated_as_paragraph_removed() -> None:
    caption = "Maria Lopez waits for the number 12 bus on Elm Street on Monday morning."
    text = "\n".join([P1, caption, P2, P3])
    assert_removed(text, [caption], captions=[caption])
    # nearly equal: a credit appended, different spacing and case
    near = "Maria Lopez waits for the number 12 bus on Elm Street on Monday morning. (Jane Doe)"
    assert_removed("\n".join([P1, near, P2, P3]), [near], captions=[caption])
    assert_removed(
        "\n".join([P1, caption.upper(), P2, P3]), [caption.upper()], captions=[caption]
    )


def test_adjacent_duplicate_short_line_removed() -> None:
    line = "The bus depot on Elm Street at night"
    text = "\n".join([P1, line, line, P2, P3])
    out = clean_text(text).splitlines()
    assert out.count(line) == 1
    assert out == [P1, line, P2, P3]


@pytest.mark.parametrize(
    "line",
    [
        "Leave a Comment",
        "Leave a Reply",
        "Cancel reply",
        "Your email address will not be published. Required fields are marked *",
        "Required fields are marked *",
        "Post Comment",
        "12 comments",
        "Comments",
        "Comments are closed.",
        "Tell us what YOU think...",
    ],
)
def test_comment_form_lines_removed(line: str) -> None:
    assert_removed(body(line), [line])


@pytest.mark.parametrize(
    "line",
    [
        "7 bloggers like this:",
        "Like this:",
        "Like Loading...",
        "Share this:",
        "Share this article",
        "Click to share on Twitter (Opens in new window)",
        "Follow us on Facebook",
        "Follow The Daily Bugle on Twitter, Facebook and Instagram.",
        "Like this story? Share it with a friend!",
        "Print Article",
        "- Order Reprints",
    ],
)
def test_share_and_follow_lines_removed(line: str) -> None:
    assert_removed(body(line), [line])


@pytest.mark.parametrize(
    "line",
    [
        "Sign up for our newsletter",
        "Subscribe",
        "Subscribe now!",
        "Click here to subscribe to The Morning Newsletter",
        "Subscribe to the Morning Review newsletter",
        "Get the day’s top headlines delivered to your inbox every morning.",
        "Thanks for signing up!",
        "Morning Briefing Newsletter",
    ],
)
def test_newsletter_prompts_removed(line: str) -> None:
    assert_removed("\n".join([P1, P2, line, P3]), [line])


@pytest.mark.parametrize(
    "line", ["Advertisement", "ADVERTISEMENT", "Sponsored", "Story continues below advertisement"]
)
def test_ad_labels_removed(line: str) -> None:
    assert_removed("\n".join([P1, line, P2, P3]), [line])


def test_read_more_inline_links_removed() -> None:
    links = ["Read more: Council approves budget for 2020", "Related: Five things to know"]
    text = "\n".join([P1, links[0], P2, links[1], P3])
    assert_removed(text, links)


def test_related_heading_and_link_list_at_end_removed() -> None:
    tail = [
        "More from The Daily Bugle",
        "Mayor unveils new cycling plan",
        "School board race heats up",
        "- Weather: storms expected this weekend",
    ]
    assert_removed(body(*tail), tail)
    recommended = ["Recommended", "Ten places to eat downtown", "The best parks in the city"]
    assert_removed(body(*recommended), recommended)


def test_related_heading_list_stops_at_prose() -> None:
    text = "\n".join([P1, "Related", "- Mayor unveils new cycling plan", P2, P3])
    assert clean_text(text).splitlines() == [P1, P2, P3]


@pytest.mark.parametrize(
    "line",
    [
        "Copyright 2026 The Daily Bugle. All rights reserved.",
        "© 2026 Springfield Media Group",
        "This article was originally published on The Conversation.",
        "This copy is for your personal, non-commercial use only.",
        "Filed under: Transport",
    ],
)
def test_footer_lines_at_end_removed(line: str) -> None:
    assert_removed(body(line), [line])


def test_staff_credit_lines_at_end_removed() -> None:
    lines = [
        "Reporting by Jane Doe; Editing by John Roe",
        "Associated Press writer Kim Lee contributed to this report.",
    ]
    assert_removed(body(*lines), lines)


@pytest.mark.parametrize(
    "line",
    [
        "By Jane Doe",
        "By Jane Doe and John Roe | Nov 3, 2026",
        "Jane Doe",
        "UPDATED: Tue., Nov. 3, 2026",
        "Published 3 November 2026",
        "5:45 AM PST 11/3/2026 by Jane Doe",
    ],
)
def test_byline_and_dateline_at_start_removed(line: str) -> None:
    assert_removed(body(before=(line,)), [line], authors=["Jane Doe", "John Roe"])


def test_title_repeated_as_first_line_removed() -> None:
    title = "City council approves four new bus routes"
    for first in (
        title,
        "City Council Approves Four New Bus Routes",
        "Opinion | City council approves four new bus routes",
    ):
        assert_removed(body(before=(first,)), [first], title=title)
    assert_removed(
        body(before=(title,)), [title], title=f"{title} | The Daily Bugle"
    )
    assert_removed(
        body(before=(title, "By Jane Doe")), [title, "By Jane Doe"], title=title,
        authors=["Jane Doe"],
    )


# --------------------------------------------------------------------------- recall


RECALL_TEXT = [
    "City council approves four new bus routes",  # a subheading, not the title
    P1,
    "The photo of the crowded platform, shared thousands of times, prompted the review.",
    "Readers who subscribe to the city's alerts will get route changes by text message.",
    "Residents can leave a comment on the plan at any library until March 1.",
    "“Read more about the plan before you judge it,” the mayor told reporters.",
    "Related projects in the region have cost less than expected, the report found.",
    "By the time the vote was called, most of the audience had left.",
    "Key changes",
    "- Route 12 will run every 10 minutes",
    "- Route 14 will run every 10 minutes",
    "- Route 15 will run every 10 minutes",
    "Q: What happens to route 9?",
    "A: It will be merged with route 12.",
    "Q: What happens to route 9?",
    P2,
    "Follow-up meetings are planned for April, and the advertising budget for the launch is "
    "$2 million.",
    "Copyright law was not an issue, the council's lawyer said, because the maps are public.",
    "Share prices of the bus operator rose 3% on the news.",
    "Comments from the public will be collected until March 1 through the council website.",
    "Credit unions in the area said they would offer discounted passes.",
    "Image quality of the new ticket machines has been criticised by users with poor sight.",
    P3,
]


def test_real_paragraphs_with_trigger_words_are_kept_in_order() -> None:
    text = "\n".join(RECALL_TEXT)
    assert clean_text(text, title="Buses: what the new plan means", authors=["Jane Doe"]) == text


def test_long_lines_are_not_removed_by_ambiguous_rules() -> None:
    long_line = (
        "Photo: the city's archive holds more than 40,000 images of the old tram network, and "
        "volunteers have spent three years scanning them so that residents can compare the "
        "streets of 1920 with the bus routes the council approved on Tuesday."
    )
    assert len(long_line) > 200
    text = "\n".join([P1, long_line, P2, P3])
    assert clean_text(text) == text


def test_subheading_that_begins_like_a_caption_is_kept() -> None:
    caption = "The new tram at the Elm Street depot."
    subheading = "The new tram at the Elm Street depot opens in May"
    text = "\n".join([P1, subheading, P2, P3])
    assert clean_text(text, captions=[caption]) == text
    with_credit = "The new tram at the Elm Street depot. Jane Doe/Reuters"
    assert_removed("\n".join([P1, with_credit, P2, P3]), [with_credit], captions=[caption])


def test_caption_like_paragraph_without_caption_is_kept() -> None:
    text = "\n".join([P1, "Maria Lopez at the bus stop on Elm Street.", P2, P3])
    assert clean_text(text, captions=["A different caption entirely about trams"]) == text


def test_byline_rules_only_apply_at_the_start() -> None:
    late = "\n".join([P1, P2, P3, P1, P2, P3, "Jane Doe", P1.replace("council", "board")])
    assert "Jane Doe" in clean_text(late, authors=["Jane Doe"]).splitlines()


def test_footer_rules_only_apply_at_the_end() -> None:
    footer = "This article was originally published in 2019 and updated since."
    lines = [P1, footer, *[f"{P2} ({i})" for i in range(10)], P3]
    assert footer in clean_text("\n".join(lines)).splitlines()


def test_footer_lines_must_end_the_page() -> None:
    # a footer-like sentence followed by a kept paragraph is article text
    inside = "Originally published in 1962, the guide to the bus network sold 40,000 copies."
    text = "\n".join([P1, P2, inside, P3])
    assert clean_text(text) == text
    # a footer followed only by other boilerplate still goes
    footer = "Copyright 2026 The Daily Bugle. All rights reserved."
    assert_removed(body(footer, "Share this:", "Advertisement"), [footer])


def test_distant_duplicates_and_repeated_list_items_are_kept() -> None:
    text = "\n".join(RECALL_TEXT)
    out = clean_text(text).splitlines()
    assert out.count("Q: What happens to route 9?") == 2


def test_empty_and_blank_text() -> None:
    assert clean_text("") == ""
    assert clean_text("\n\n") == ""


def test_clean_lines_names_the_rule() -> None:
    verdicts = dict(clean_lines(["Advertisement", P1, "Leave a Reply"]))
    assert verdicts == {"Advertisement": "ad", P1: None, "Leave a Reply": "comments"}
    assert set(RULES) >= {"title", "byline", "credit", "caption", "duplicate"}


# --------------------------------------------------------------------------- new line rules


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("Also on example.com Ministers threatened with arrest as purge widens", "promo"),
        ("Also: See our Black Friday coverage", "promo"),
        ("Follow our full coverage of the election at https://example.com/election", "promo"),
        ("Click here to get the Daily News app", "promo"),
        ("[button link=”http://e.example/x” type=”big”] Send us your review[/button]", "promo"),
        ("An error has occurred, please try again later.", "widget"),
        ("This article has been sent to", "widget"),
    ],
)
def test_promo_and_widget_lines_removed(line: str, rule: str) -> None:
    text = "\n".join([P1, line, P2, P3])
    assert_removed(text, [line])
    assert (line, rule) in clean_lines(text.splitlines())


@pytest.mark.parametrize(
    "line",
    ["Write to Jane Doe at jane.doe@example.com", "jane.doe@example.com",
     "twitter.com/janedoe", "Reach the reporters on Twitter at http://twitter.com/janedoe"],
)
def test_contact_lines_at_end_removed(line: str) -> None:
    assert_removed(body(line), [line])


def test_contact_and_promo_recall_cases_kept() -> None:
    keep = [
        "Also at the meeting were the mayor and two councillors.",
        "Write to your representative, the group urged, before the vote on Friday.",
        "Click here to get more information or download this game.",
        "[1] Smith J. Alarm fatigue. Curr Opin. 2015; 28: 685-690.",
    ]
    out = clean_text(body(*keep)).splitlines()
    for line in keep:
        assert line in out


def test_own_url_line_removed_other_urls_kept() -> None:
    url = "https://news.example/2019/11/story.html"
    text = body(url, "http://amzn.to/2iJFhRj")
    out = clean_text(text, url=f"https://other.example/x {url}").splitlines()
    assert url not in out
    assert "http://amzn.to/2iJFhRj" in out


def test_description_printed_twice_loses_its_first_copy_only() -> None:
    dek = "Officials say the expanded network will serve the east side from next spring on."
    twice = clean_text("\n".join([dek, dek + " More to follow.", P1, P2, P3]), description=dek)
    assert twice.splitlines()[0] == dek + " More to follow."
    once = clean_text("\n".join([dek, P1, P2, P3]), description=dek)
    assert once.splitlines()[0] == dek  # a lead paragraph used as description stays


# --------------------------------------------------------------------------- DOM rules


def _tree(body_html: str):  # type: ignore[no-untyped-def]
    from trafilatura.utils import load_html

    return load_html(f"<html><body>{body_html}</body></html>")


ARTICLE_P = "".join(f"<p>{p}</p>" for p in (P1, P2, P3))


@pytest.mark.parametrize(
    ("widget", "rule"),
    [
        ('<div class="share-bar"><a>Facebook</a><a>Twitter</a></div>', "share"),
        ('<section id="newsletter-signup"><p>Get our daily briefing</p></section>', "newsletter"),
        ('<div class="post-comments"><p>3 comments so far</p></div>', "comments"),
        ('<aside class="relatedArticles"><a>Another story</a></aside>', "related"),
        ('<div class="ad-slot"><span>Advertisement</span></div>', "ad"),
        ('<div aria-label="Share this article"><a>Email</a></div>', "share"),
    ],
)
def test_prune_tree_removes_labelled_widgets(widget: str, rule: str) -> None:
    tree = _tree(f"<article>{ARTICLE_P}{widget}</article>")
    assert prune_tree(tree) == {rule: 1}
    text = tree.xpath("string(//article)")
    assert P1 in text and P3 in text
    assert text.index(P1) < text.index(P2) < text.index(P3)


def test_prune_tree_removes_hover_cards_but_keeps_the_name_and_tail() -> None:
    tree = _tree(
        '<article><p>Rep. <span class="rollover-people"><a class="rollover-people-link">Jane Roe'
        '</a><span class="rollover-people-block"><a>Other headline</a></span></span> (D-Minn.) '
        f"said on Tuesday.</p>{ARTICLE_P}</article>"
    )
    assert prune_tree(tree) == {"hovercard": 1}
    assert tree.xpath("string(//article/p[1])") == "Rep. Jane Roe (D-Minn.) said on Tuesday."


def test_prune_tree_keeps_containers_holding_the_article() -> None:
    tree = _tree(
        f'<div class="post has-comments"><div class="entry">{ARTICLE_P}</div></div>'
        f'<div class="related-wrapper"><main>{ARTICLE_P}</main></div>'
        f'<div class="unrelated">{P1}</div>'
    )
    assert prune_tree(tree) == {}
    assert tree.xpath("string(//div[@class='entry'])").startswith(P1)


def test_prune_tree_rules_can_be_disabled() -> None:
    tree = _tree(f'<article>{ARTICLE_P}<div class="share-bar"><a>Facebook</a></div></article>')
    assert prune_tree(tree, disabled=frozenset(["share"])) == {}
    assert DOM_RULES == ("share", "newsletter", "comments", "related", "ad", "hovercard")


# --------------------------------------------------------------------------- loose lead text


def test_wrap_lead_text_makes_the_first_br_paragraph_a_p() -> None:
    tree = _tree(
        f'<div class="content">{P1[:40]}<em><a href="/x">{P1[40:60]}</a></em>{P1[60:]}'
        f"<br><br>{P2}<br><br>{P3}</div>"
    )
    assert wrap_lead_text(tree) == 1
    (div,) = tree.xpath("//div[@class='content']")
    assert div.text is None
    assert div[0].tag == "p" and div[0].text_content() == P1
    assert div[0].xpath("./em/a")  # inline markup moved along, not flattened
    assert [c.tag for c in div[1:]] == ["br", "br", "br", "br"]
    assert div.text_content() == P1 + P2 + P3  # nothing lost, nothing reordered


def test_wrap_lead_text_leaves_containers_without_br_alone() -> None:
    html = f'<div class="a">{P1} <a href="/x">link</a> tail</div><div class="b"><p>{P2}</p></div>'
    tree = _tree(html)
    assert wrap_lead_text(tree) == 0
    assert tree.xpath("string(//div[@class='a'])") == f"{P1} link tail"


def test_lift_embedded_posts_replaces_wrappers_holding_only_the_post() -> None:
    tree = _tree(
        f'<article><p>{P1}</p><div class="widget tweet"><div class="inner">'
        '<blockquote class="twitter-tweet"><p>Club statement</p>— Club (@club)</blockquote>'
        '<script>window.twttr = {};</script></div></div>'
        f'<div class="box"><p>{P2}</p><blockquote class="instagram-media">A photo</blockquote>'
        "</div></article>"
    )
    assert lift_embedded_posts(tree) == 1  # the second post shares its wrapper with P2
    article = tree.xpath("//article")[0]
    assert [c.tag for c in article] == ["p", "blockquote", "div"]
    assert article[1].text_content() == "Club statement— Club (@club)"
    assert tree.xpath("//div[@class='box']/blockquote")
