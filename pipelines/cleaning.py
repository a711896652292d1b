"""Line-level cleaning of the article text trafilatura returns for news pages.

trafilatura already removes most page furniture; what it still lets through on news sites are
short widget and label lines inside or around the article container. Each rule below is
general (no site-specific patterns) and explainable in one line:

* ``title``: the headline repeated as one of the first lines;
* ``byline``: a byline or dateline line ("By Jane Doe | Nov 3, 2026", "Updated: 5:45 AM ET")
  among the first lines (datelines also among the last lines);
* ``credit``: photo credit lines ("Photo: Reuters", "© Getty Images", "(AP Photo/…)",
  "Image copyright …", "Image caption …") and short caption lines ending with a credit;
* ``caption``: a line equal or nearly equal to a figure caption of the page;
* ``comments``: comment-form lines ("Leave a Reply", "Required fields are marked *", "3 comments");
* ``share``: share, like, follow and toolbar lines ("Share this:", "Like this:",
  "Follow us on Twitter", "Print Article");
* ``newsletter``: newsletter and subscription prompts ("Sign up for our newsletter");
* ``ad``: advertising labels ("Advertisement", "Sponsored", "Story continues below");
* ``related``: "Read more"/"Related"/"More from" headings or link lines, and the link list right
  after such a heading;
* ``footer``: copyright, all-rights-reserved, reprint and "originally published" lines among the
  last lines, only in the page's trailing block: a footer line followed by a kept line stays;
* ``standfirst``: the page's description (standfirst, dek) printed twice among the first lines:
  the first copy goes. A single copy stays: many sites use the lead paragraph as description;
* ``promo``: inline promotions ("Also on example.com …", "Also: …", "Follow our full coverage
  at https://…", "Download the … app") and leftover WordPress shortcodes ("[button …]…[/button]");
* ``widget``: messages of page widgets ("An error has occurred, please try again later.",
  "This article has been sent to");
* ``contact``: among the last lines, a reporter's e-mail or social-profile line ("Write to
  … at jane@example.com", a bare "twitter.com/jane");
* ``permalink``: a line that is only the page's own URL;
* ``duplicate``: a later exact repeat of a short line already kept.

The rules only remove whole lines and never reorder; a line longer than ``LONG_LINE`` characters is
removed only by the rules that are unambiguous for any length (exact caption or title repeats,
exact duplicates, ``Image caption``/``Image copyright`` labels).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Any

__all__ = [
    "DOM_RULES", "EMBED_CLASSES", "LONG_LINE", "RULES", "clean_lines", "clean_text",
    "lift_embedded_posts", "prune_tree", "wrap_lead_text",
]

LONG_LINE = 200
HEAD_LINES = 6  # byline, dateline and title repeats are looked for in the first lines
TAIL_LINES = 8  # footers are looked for in the last lines
MAX_LIST_AFTER_HEADING = 12
DUPLICATE_WINDOW = 1  # a repeat counts as a duplicate of the line just before it

RULES = (
    "title", "standfirst", "byline", "credit", "caption", "comments", "share", "newsletter",
    "ad", "related", "promo", "widget", "footer", "staff_credit", "contact", "permalink",
    "duplicate",
)

_I = re.IGNORECASE
_TOKEN = re.compile(r"\w+")
_BULLET = re.compile(r"^(?:[-–—•*·▪►>]\s*)+")
_END_PUNCT = re.compile(r"[.;:,][\"'”’)\]]*\s*$")

# --- credit -------------------------------------------------------------------------------
_PHOTO_WORDS = r"(?:photo(?:graph)?s?|images?|pictures?|illustrations?|graphics?|videos?)"
_CREDIT_LINE = re.compile(
    rf"^(?:(?:top|main|header|lead|featured?)\s+)?(?:{_PHOTO_WORDS}|photo\s+illustration)"
    r"(?:\s+(?:credits?|sources?|courtesy))?\s*(?::|\||/|©|\(c\)|by\b|courtesy\b|credit\b)",
    _I,
)
_CREDIT_LABEL = re.compile(r"^(?:credits?|photo\s+credits?)\s*(?::|\.{2,}|…|-|–|—|\|)", _I)
_IMAGE_LABEL = re.compile(r"^(?:image|media|video|photo)\s+(?:copyright|caption|source)\b", _I)
_COPYRIGHT_SIGN = re.compile(r"^(?:©|\(c\)|ⓒ)", _I)
_PAREN_CREDIT = re.compile(
    r"^[(\[][^()\[\]]*\b(?:photos?|image|getty|credit|courtesy|shutterstock|file)\b[^()\[\]]*[)\]]$",
    _I,
)
_TRAILING_CREDIT = re.compile(
    rf"(?:\b{_PHOTO_WORDS}\s*(?:©|\(c\)|copyright)\s*[^.!?]{{0,60}}"
    r"|\b(?:photo(?:graph)?|image|credit)s?\s*:\s*[^.!?:]{1,60}"
    r"|[(\[][^()\[\]]*\b(?:photo(?:graph)?s?|image|credit|getty|shutterstock)\b[^()\[\]]*[)\]]"
    r"|(?:/|\|)\s*(?:getty images|shutterstock|alamy|ap photo|afp|reuters|epa)[^.!?]{0,20})\s*$",
    _I,
)

# --- comments -----------------------------------------------------------------------------
_COMMENTS = re.compile(
    r"^(?:leave a (?:comment|reply)|post (?:a |your )?comment|add (?:a |your )?comment|"
    r"write a comment|submit (?:a )?comment|cancel reply|reply|"
    r"your email address will not be published.*|required fields are marked.*|"
    r"comments are (?:closed|disabled).*|\d+\s+(?:comments?|replies|responses)|"
    r"comments?(?:\s*\(\d+\))?|no comments(?: yet)?|be the first to comment.*|"
    r"you must be (?:logged|signed) in to (?:post|leave) a comment.*|"
    r"notify me of (?:follow-up comments|new posts).*|save my name, email, and website.*|"
    r"(?:show|view|load|hide|read) (?:all )?(?:\d+ )?comments|"
    r"join the (?:conversation|discussion)|tell us what you think.*|what do you think\?)"
    r"[\s.!:…]*$",
    _I,
)

# --- share / follow / toolbar ---------------------------------------------------------------
_SOCIAL = r"(?:twitter|facebook|instagram|linkedin|youtube|tiktok|whatsapp|pinterest|reddit)"
_SHARE = re.compile(
    r"^(?:\d+\s+bloggers? likes? this.*|like this|like loading.*|loading|share this|"
    r"share(?: this| the)? (?:article|story|post|page|video)(?:\s+(?:on|via|with)\b.*)?|"
    rf"click to (?:share|email|print|tweet)\b.*|share (?:on|via) {_SOCIAL}.*|"
    rf"(?:share|tweet|e-?mail|print|save|{_SOCIAL}|flipboard)(?: this)?|"
    r"(?:order )?reprints?|print (?:this )?article|e-?mail (?:this )?article|"
    r"follow us(?:\s+(?:on|at|@)\b.*)?|like us on facebook.*|"
    r"(?:like|enjoyed?) this (?:story|article|post)\?.*|share it with a friend.*)"
    r"[\s.!:…]*$",
    _I,
)
_FOLLOW_SOCIAL = re.compile(rf"^follow\b.{{0,100}}\bon\s+{_SOCIAL}\b", _I)

# --- newsletter -----------------------------------------------------------------------------
_NEWSLETTER = re.compile(
    r"^(?:(?:click here|tap here) to |please )?(?:sign[ -]?up|subscribe|register|join)\b"
    r".{0,150}\bnewsletters?\b"
    r"|\b(?:subscrib(?:e|ing)|sign(?:ing)? up) (?:to|for) (?:our|the|this|my) .{0,60}newsletters?\b"
    r"|^get .{0,150}\b(?:delivered )?(?:to|in|into) your inbox\b"
    r"|^(?:thanks?(?: you)? for (?:signing up|subscribing)|keep an eye on your inbox|"
    r"there was an error processing your subscription|you(?:'re| are) (?:now )?subscribed)",
    _I,
)
_SUBSCRIBE_ONLY = re.compile(
    r"^(?:subscribe|sign up|sign in to subscribe|subscribe now|subscribe today|"
    r"subscribe here|sign up now|sign up here|already a subscriber\?.*)[\s.!:…]*$",
    _I,
)
_NEWSLETTER_HEADING = re.compile(r"^(?:\w+\s+){0,4}newsletters?[\s!:]*$", _I)

# --- ads ------------------------------------------------------------------------------------
_AD = re.compile(
    r"^(?:advertisement|advertising|advert|ad|ads|sponsored(?: content| links?| post)?|"
    r"paid (?:content|post)|promoted(?: content| stories)?|partner content|"
    r"(?:story|article) continues (?:below|after)(?: (?:this )?(?:advertisement|ad))?|"
    r"continue reading(?: the main story| below)?|scroll to continue(?: with content)?)"
    r"[\s.!:…\-–—]*$",
    _I,
)

# --- related --------------------------------------------------------------------------------
_RELATED_LABEL = (
    r"(?:read more|read also|also read|read next|see more|see also|watch more|more from|"
    r"related(?: articles?| stories| content| coverage| links?| posts?| reading| news)?|"
    r"recommended(?: for you| reading| stories| articles)?|"
    r"most (?:read|popular|viewed|shared)|popular on|trending(?: now| stories)?|"
    r"you (?:may|might) also like|don'?t miss|more on this(?: story| topic)?|more stories|"
    r"more news|latest news|what to read next|further reading|top stories)"
)
_RELATED_INLINE = re.compile(rf"^{_RELATED_LABEL}\s*(?::|\||»|>>|–|—|-)\s*\S", _I)
_RELATED_HEADING = re.compile(rf"^{_RELATED_LABEL}(?:\s+[\w'’&.-]+){{0,4}}[\s:»>…]*$", _I)
_LIST_ITEM = re.compile(r"^(?:[-–—•*·▪►]|\d{1,2}[.)])\s+")

# --- promo / widget / contact -----------------------------------------------------------
_PROMO = re.compile(
    r"^also (?:on|at|in)\s+[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b"  # "Also on example.com …"
    r"|^also\s*:\s*\S"
    r"|\b(?:full|complete|more|latest|live) coverage\b.{0,150}(?:https?://|www\.)"
    r"|^(?:click|tap) here to (?:get|download|install) (?:the |our )?.{0,40}\bapps?\b"
    r"|^(?:download|get|install) (?:the|our) .{0,40}\bapps?\b.{0,60}$",
    _I,
)
_SHORTCODE = re.compile(
    r"^\[[a-z_][\w-]*(?:\s[^\]]*)?\](?:.*\[/[a-z_][\w-]*\])?$|^\[/[a-z_][\w-]*\]$"
)
_WIDGET = re.compile(
    r"^(?:an error (?:has )?occurred|something went wrong|oops\b|please try again\b|"
    r"(?:this|the|your) (?:article|story|page|link|e-?mail|message) (?:has been|was) "
    r"(?:sent|shared)\b)",
    _I,
)
_CONTACT = re.compile(
    r"^(?:write to|e-?mail|contact|reach)\b.{0,150}(?:\b[\w.+-]+@[\w-]+\.\w|@\w|"
    r"twitter\.com/)"
    r"|^(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://)?(?:www\.)?"
    r"(?:twitter|x|facebook|instagram|linkedin)\.com/[\w./-]+)$",
    _I,
)

# --- footer ---------------------------------------------------------------------------------
_FOOTER = re.compile(
    r"^(?:copyright\s*(?:©|\(c\)|ⓒ|\d{4}\b|\w[^.]{0,60}\b(?:19|20)\d{2}\b)|©|\(c\)\s*\d|ⓒ)"
    r"|\ball rights reserved\b"
    r"|^(?:this|the above) (?:article|story|post|piece|column) (?:was|is|has been|first) "
    r"(?:originally |first )?(?:published|posted|appeared|ran)\b"
    r"|^(?:originally|first) (?:published|posted|appeared)\b"
    r"|^this (?:copy|material|article|content) (?:is for your personal|may not be)"
    r"|^(?:republished|reprinted) (?:with permission|from|by)\b"
    r"|^(?:filed under|tags|tagged(?: with)?|topics|categories|posted in)\s*:",
    _I,
)
_STAFF_CREDIT = re.compile(
    r"^[(\[]?(?:(?:additional |with )?(?:reporting|writing|editing|compiled|research)"
    r"(?: and \w+)? by\b)"
    r"|\bcontributed (?:reporting|to this (?:report|story|article))\b",
    _I,
)

# --- byline / dateline ----------------------------------------------------------------------
_BYLINE = re.compile(r"^(?:by|von|par|por|door|di|av|от)\s+[A-Z\u00c0-\u024f\u0400-\u04ff]")
_DATE_WORDS = frozenset(
    """
    jan january feb february mar march apr april may jun june jul july aug august sep
    sept september oct october nov november dec december mon monday tue tues tuesday wed
    wednesday thu thur thurs thursday fri friday sat saturday sun sunday am pm a m p est
    edt cst cdt mst mdt pst pdt et ct mt pt gmt utc bst cet cest ist aest jst at on of
    the st nd rd th published updated posted modified last first created date time
    """.split()  # noqa: SIM905
)
_DATE_LABELS = frozenset(["published", "updated", "posted", "modified", "created"])
_DATE_NAMES = frozenset(
    """
    jan january feb february mar march apr april may jun june jul july aug august sep
    sept september oct october nov november dec december mon monday tue tues tuesday wed
    wednesday thu thur thurs thursday fri friday sat saturday sun sunday
    """.split()  # noqa: SIM905
)
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b|\b[ap]\.?m\b", _I)
_BYLINE_WORDS = frozenset(
    """
    by and staff writer writers reporter reporters correspondent correspondents editor
    editors contributor contributing columnist senior special news service wire team
    desk with photos photographer photography video
    """.split()  # noqa: SIM905
)

_TITLE_SEPARATOR = re.compile(r"\s+[|–—:»/-]\s+|\s*\|\s*|\s+::\s+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def _norm(text: str) -> str:
    return " ".join(_tokens(text))


def _similar(a: str, b: str, threshold: float = 0.9) -> bool:
    """difflib's similarity ratio of two strings is at least ``threshold``; the cheap upper
    bound (character counts) is checked first, as most pairs fail it."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= threshold and matcher.ratio() >= threshold


def _strip_bullet(line: str) -> str:
    return _BULLET.sub("", line.strip())


def is_credit(line: str) -> bool:
    if _IMAGE_LABEL.match(line) and len(line) <= 2 * LONG_LINE:
        return True
    if len(line) > LONG_LINE:
        return False
    if _CREDIT_LINE.match(line) or _CREDIT_LABEL.match(line) or _PAREN_CREDIT.match(line):
        return True
    if _COPYRIGHT_SIGN.match(line) and len(line) <= 100:
        return True
    return bool(_TRAILING_CREDIT.search(line)) and len(_tokens(line)) <= 40


def is_comment_form(line: str) -> bool:
    return len(line) <= LONG_LINE and bool(_COMMENTS.match(line))


def is_share(line: str) -> bool:
    if len(line) > LONG_LINE:
        return False
    return bool(_SHARE.match(line) or _FOLLOW_SOCIAL.match(line))


def is_newsletter(line: str) -> bool:
    if len(line) > LONG_LINE:
        return False
    if _SUBSCRIBE_ONLY.match(line):
        return True
    if _NEWSLETTER_HEADING.match(line) and line[:1].isupper():
        return True
    return bool(_NEWSLETTER.search(line))


def is_ad_label(line: str) -> bool:
    return len(line) <= 60 and bool(_AD.match(line))


def is_related_inline(line: str) -> bool:
    return len(line) <= LONG_LINE and bool(_RELATED_INLINE.match(line))


def is_related_heading(line: str) -> bool:
    return len(line) <= 60 and not line.endswith(".") and bool(_RELATED_HEADING.match(line))


def is_footer(line: str) -> bool:
    return len(line) <= 2 * LONG_LINE and bool(_FOOTER.search(line))


def is_staff_credit(line: str) -> bool:
    return len(line) <= LONG_LINE and bool(_STAFF_CREDIT.search(line))


def is_promo(line: str) -> bool:
    if len(line) > LONG_LINE:
        return False
    return bool(_PROMO.search(line) or _SHORTCODE.match(line))


def is_widget_message(line: str) -> bool:
    return len(line) <= 120 and bool(_WIDGET.match(line))


def is_contact(line: str) -> bool:
    return len(line) <= LONG_LINE and bool(_CONTACT.search(line))


def _is_link_item(line: str) -> bool:
    """A line of a related-links list: a short list item or a headline-like short line."""
    if _LIST_ITEM.match(line) and len(line) <= LONG_LINE:
        return True
    return len(line) <= 120 and len(line.split()) <= 20 and not _END_PUNCT.search(line)


_CREDIT_CONNECTORS = frozenset(
    ["by", "via", "of", "and", "photo", "photos", "image", "images", "credit", "courtesy", "file",
     "staff", "copyright"]
)


def _is_credit_words(line: str, extra: int) -> bool:
    """Whether the ``extra`` words a line has besides a caption (at its start or end) read as
    a credit: names and agencies ("Jane Doe/AP", "Getty Images", "Apple, Inc."), years and
    credit words. A subheading that merely begins like a caption ("Apple iPhone 11 Pro" vs.
    "Apple iPhone 11 Pro Max for $999") has ordinary lowercase words there and is kept."""
    words = _TOKEN.findall(line)
    if extra <= 0 or extra > len(words):
        return False
    for tail in (words[-extra:], words[:extra]):
        if all(w[:1].isupper() or w.isdigit() or w.casefold() in _CREDIT_CONNECTORS
               for w in tail):
            return True
    return False


class _Context:
    """What the rules know of the page besides the text."""

    def __init__(self, title: str | None, authors: Sequence[str], captions: Sequence[str],
                 description: str | None = None, url: str | None = None):
        self.description = _norm((description or "").rstrip(".… "))
        self.urls = {u.strip().rstrip("/") for u in (url or "").split() if u.strip()}
        self.title = _norm(title or "")
        self.title_tokens = self.title.split()
        # "Section | Headline | Site": the parts with at least 3 words
        self.title_parts = {
            part for part in (_norm(x) for x in _TITLE_SEPARATOR.split(title or ""))
            if len(part.split()) >= 3
        }
        self.author_tokens = {t for a in authors for t in _tokens(a)}
        self.captions = [c for c in dict.fromkeys(_norm(c) for c in captions) if c]

    def is_title(self, line: str) -> bool:
        """The headline, also when the page title adds a site or section part or small edits."""
        if not self.title:
            return False
        norm = _norm(line)
        if not norm or len(norm) > len(self.title) + 40:
            return False
        if norm == self.title or norm in self.title_parts:
            return True
        n = len(norm.split())
        if n < 3 or n < 0.5 * len(self.title_tokens):
            return False
        if self.title.startswith(norm + " ") or self.title.endswith(" " + norm):
            return True  # "Headline | Site", "Opinion | Headline"
        if norm.startswith(self.title + " "):
            return True  # the line adds a short kicker or site name
        short, long_ = sorted((norm, self.title), key=len)
        return len(short) >= 0.8 * len(long_) and _similar(short, long_)

    def is_standfirst(self, line: str) -> bool:
        """The page's description (dek) as a line; a truncated description counts too."""
        if not self.description or len(self.description.split()) < 5:
            return False
        norm = _norm(line)
        if len(norm.split()) < 5:
            return False
        if norm == self.description or norm.startswith(self.description + " "):
            return True  # equal, or the description is the first sentence(s) of the line
        if len(self.description) >= 0.8 * len(norm) and self.description.startswith(norm):
            return True  # the line is the description minus its tail
        short, long_ = sorted((norm, self.description), key=len)
        return len(short) >= 0.85 * len(long_) and _similar(short, long_)

    def is_permalink(self, line: str) -> bool:
        return bool(self.urls) and line.strip().rstrip("/") in self.urls

    def is_byline(self, line: str) -> bool:
        if len(line) > 150:
            return False
        words = _tokens(line)
        if not words:
            return False
        rest = [
            w for w in words
            if w not in _DATE_WORDS and w not in _BYLINE_WORDS and w not in self.author_tokens
            and not w.isdigit()
        ]
        has_author = any(w in self.author_tokens for w in words)
        if _BYLINE.match(line):
            # "By Jane Doe and John Roe | Nov 3, 2026": names, dates, roles only.
            lowercase = [w for w in line.split()[1:] if w[:1].islower() and w not in {"and"}]
            return (has_author and not rest) or (len(lowercase) <= 1 and len(words) <= 12
                                                 and not line.rstrip().endswith("."))
        if not rest and has_author:
            return True  # "Jane Doe", "5:45 AM PST 11/19/2019 by Jane Doe"
        return self.is_dateline(line)  # "UPDATED: Tue., Nov. 19, 2019"

    def is_dateline(self, line: str) -> bool:
        """"Updated: Nov. 19, 2019", "Posted 5:45 a.m. ET": a labelled or clock-time stamp."""
        words = _tokens(line)
        if len(line) > 80 or not any(w.isdigit() for w in words):
            return False
        if not all(w in _DATE_WORDS or w.isdigit() for w in words):
            return False
        if any(w in _DATE_LABELS for w in words[:2]):
            return True
        return any(w in _DATE_NAMES for w in words) and bool(_CLOCK.search(line))

    def is_caption(self, line: str) -> bool:
        if not self.captions:
            return False
        norm = _norm(line)
        if not norm:
            return False
        for cap in self.captions:
            if norm == cap:
                return True
            if len(line) > 2 * LONG_LINE or len(cap.split()) < 3 or len(norm.split()) < 3:
                continue
            short, long_ = (norm, cap) if len(norm) <= len(cap) else (cap, norm)
            if len(short) < 0.6 * len(long_):
                continue
            # caption plus/minus a credit, or the same caption with small edits
            if long_.startswith(short + " ") or long_.endswith(" " + short):
                if short is norm or _is_credit_words(line, len(norm.split()) - len(cap.split())):
                    return True
                continue
            if len(short) >= 0.8 * len(long_) and _similar(short, long_):
                return True
        return False


def clean_lines(
    lines: Sequence[str],
    *,
    title: str | None = None,
    authors: Sequence[str] = (),
    captions: Sequence[str] = (),
    disabled: frozenset[str] = frozenset(),
    description: str | None = None,
    url: str | None = None,
) -> list[tuple[str, str | None]]:
    """Every line with the name of the rule that removes it, or ``None`` if it is kept.

    ``url`` may hold several URLs of the page (fetched and canonical) separated by spaces.
    """
    ctx = _Context(title, authors, captions, description, url)
    on = {rule for rule in RULES if rule not in disabled}
    n = len(lines)
    verdicts: list[str | None] = [None] * n

    content = [i for i, raw in enumerate(lines) if _tokens(raw)]
    head = set(content[:HEAD_LINES])
    tail = set(content[-TAIL_LINES:])

    list_mode: str | None = None  # "heading" or "inline" after a related heading/link line
    list_left = 0
    for i, raw in enumerate(lines):
        line = _strip_bullet(raw)
        if not _tokens(line):
            continue
        verdict: str | None = None
        if list_mode and list_left > 0:
            item = (
                _is_link_item(raw.strip()) if list_mode == "heading"
                else bool(_LIST_ITEM.match(raw.strip())) and len(raw.strip()) <= LONG_LINE
            )
            if item:
                verdict = "related"
                list_left -= 1
            else:
                list_mode = None
        if verdict is None:
            verdict = _line_verdict(line, i, ctx, on, head, tail)
            if verdict == "related":
                list_mode = "heading" if is_related_heading(line) else "inline"
                list_left = MAX_LIST_AFTER_HEADING
        verdicts[i] = verdict

    if "footer" in on:
        # A footer ends the page: a footer line only goes when every content line after it
        # goes too. "Copyright 2019 …" or "Originally published in …" followed by a kept
        # paragraph is part of the article (a note, a quote), so it is judged again without
        # the footer rule.
        trailing = True
        for i in reversed(range(n)):
            if not _tokens(lines[i]):
                continue
            if verdicts[i] == "footer" and not trailing:
                verdicts[i] = _line_verdict(
                    _strip_bullet(lines[i]), i, ctx, on - {"footer"}, head, tail
                )
            if verdicts[i] is None:
                trailing = False

    if "standfirst" in on and ctx.description:
        copies = [i for i in sorted(head) if verdicts[i] is None and ctx.is_standfirst(lines[i])]
        for i in copies[:-1]:
            verdicts[i] = "standfirst"

    if "duplicate" in on:
        recent: list[str] = []  # the last kept lines, normalised
        for i, raw in enumerate(lines):
            norm = _norm(raw)
            if verdicts[i] is not None or not norm:
                continue
            if (
                norm in recent
                and len(raw.strip()) <= LONG_LINE
                and not _LIST_ITEM.match(raw.strip())
                and sum(any(c.isalpha() for c in w) for w in norm.split()) >= 2
            ):
                verdicts[i] = "duplicate"
                continue
            recent = [*recent, norm][-DUPLICATE_WINDOW:]
    return list(zip(lines, verdicts, strict=True))


def _line_verdict(
    line: str, i: int, ctx: _Context, on: set[str], head: set[int], tail: set[int]
) -> str | None:
    checks: list[tuple[str, bool]] = []
    in_head, in_tail = i in head, i in tail
    if in_head:
        checks += [
            ("title", "title" in on and ctx.is_title(line)),
            ("byline", "byline" in on and ctx.is_byline(line)),
        ]
    if in_tail and not in_head:
        checks.append(("byline", "byline" in on and ctx.is_dateline(line)))
    checks += [
        ("caption", "caption" in on and ctx.is_caption(line)),
        ("credit", "credit" in on and is_credit(line)),
        ("comments", "comments" in on and is_comment_form(line)),
        ("ad", "ad" in on and is_ad_label(line)),
        ("share", "share" in on and is_share(line)),
        ("newsletter", "newsletter" in on and is_newsletter(line)),
        ("related", "related" in on and (is_related_inline(line) or is_related_heading(line))),
        ("promo", "promo" in on and is_promo(line)),
        ("widget", "widget" in on and is_widget_message(line)),
        ("permalink", "permalink" in on and ctx.is_permalink(line)),
    ]
    if in_tail:
        checks += [
            ("footer", "footer" in on and is_footer(line)),
            ("staff_credit", "staff_credit" in on and is_staff_credit(line)),
            ("contact", "contact" in on and is_contact(line)),
        ]
    for name, hit in checks:
        if hit:
            return name
    return None


def clean_text(
    text: str,
    *,
    title: str | None = None,
    authors: Sequence[str] = (),
    captions: Sequence[str] = (),
    description: str | None = None,
    url: str | None = None,
) -> str:
    """Remove news boilerplate lines from trafilatura's plain-text output.

    ``title`` is the headline, ``authors`` the byline names, ``captions`` the figure/table
    caption texts, ``description`` the page's standfirst/description and ``url`` the page's
    URL(s), space separated. Kept lines are returned unchanged and in order.
    """
    if not text:
        return text
    kept = [
        line
        for line, verdict in clean_lines(
            text.splitlines(), title=title, authors=authors, captions=captions,
            description=description, url=url,
        )
        if verdict is None
    ]
    return "\n".join(kept).strip("\n")


# =========================================================================== DOM level
#
# ``prune_tree`` runs on the parsed page BEFORE trafilatura (and after the page's metadata and
# figures were read). It removes elements that the page itself labels as widgets, through
# their class, id or aria-label, so that no line rule has to guess them from the text:
#
# * ``share``: share/social/follow toolbars ("share-bar", "social-links", "sharedaddy");
# * ``newsletter``: newsletter, subscribe and sign-up boxes;
# * ``comments``: comment lists, forms and counters ("comments", "comment-respond", disqus);
# * ``related``: related/recommended/most-read/trending/"read more" link lists, outbrain and
#   taboola containers;
# * ``ad``: advertising slots ("advert", "ad-slot", "adsbygoogle", "sponsored");
# * ``hovercard``: a tooltip or hover card nested in a link or in another hover element (a
#   politician's card repeated after the name in the text);
#
# Classes are split into words on any non-alphanumeric character, so "related" matches
# "related-posts" and "post_related" but not "unrelated"; a few words match as a prefix of a
# joined class ("relatedArticles", "sharebar"). An element is never removed when it is the
# page's html/body/article/main, when it holds the declared article body (``itemprop=
# "articleBody"``, an ``<article>`` or ``<main>``), or when it holds more than
# ``PRUNE_MAX_SHARE`` of the page's paragraph text: a theme that puts "has-comments" on the
# article's container does not lose the article.

DOM_RULES = ("share", "newsletter", "comments", "related", "ad", "hovercard")
PRUNE_MAX_SHARE = 0.3

_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_DOM_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ["share", "shares", "sharing", "sharebar", "sharetools", "sharedaddy", "social",
         "socials", "addthis", "addtoany", "sociallinks", "socialshare", "follow-us"], "share"),
    **dict.fromkeys(
        ["newsletter", "newsletters", "subscribe", "subscription", "signup", "newsletterbox",
         "optin", "mailchimp"], "newsletter"),
    **dict.fromkeys(
        ["comments", "commentlist", "comment-list", "comment-form", "commentform",
         "comment-respond", "comment-count", "comments-count", "disqus", "respond"],
        "comments"),
    **dict.fromkeys(
        ["related", "recommended", "recommendations", "recirculation", "recirc", "outbrain",
         "taboola", "trending", "mostpopular", "mostread", "readmore", "read-more",
         "most-popular", "most-read", "most-viewed", "more-stories", "also-read", "see-also",
         "read-next", "more-from"], "related"),
    **dict.fromkeys(
        ["advert", "adverts", "advertisement", "advertising", "adsbygoogle", "adslot",
         "adunit", "ad-slot", "ad-unit", "ad-container", "ad-wrapper", "ad-banner",
         "ad-placeholder", "dfp", "sponsored", "promoted"], "ad"),
}
_DOM_PREFIXES = re.compile(
    r"^(?:related|sharebar|socialshare|sharing|newsletter|outbrain|taboola|recommend|"
    r"advertisement)"
)
_HOVER_WORDS = frozenset(
    ["tooltip", "tooltips", "hovercard", "hover-card", "popover", "rollover", "hover"]
)
# a class holding none of these beginnings holds none of the hover words (no split needed)
_QUICK_HOVER = re.compile("|".join(sorted({w[:5] for w in _HOVER_WORDS})), re.IGNORECASE)
_PROTECTED_TAGS = frozenset(["html", "body", "article", "main", "head"])
_PROTECTED_INSIDE = ".//*[@itemprop='articleBody' or self::article or self::main]"


def _quick_pattern() -> re.Pattern[str]:
    """A regex found in every lowercased class/id/aria-label that a DOM rule can match: a word
    of ``_DOM_WORDS``, a prefix or a hover word needs itself, a joined pair ("ad-slot") its
    first word and a separator. One search rejects most attribute values before they are
    split into words."""
    needles = set(_DOM_PREFIXES.pattern.strip("^()?:").split("|")) | {"hover", "tooltip",
                                                                       "popover", "rollover"}
    pairs: set[str] = set()
    for key in _DOM_WORDS:
        first, dash, _ = key.partition("-")
        (pairs if dash else needles).add(first if dash else key)
    alternatives = sorted(map(re.escape, needles)) + [
        f"{re.escape(first)}[^a-z0-9]" for first in sorted(pairs)]
    return re.compile("|".join(alternatives))


_QUICK = _quick_pattern()


def _attr_words(value: str) -> list[str]:
    """The words of a class/id value, and the joined pairs ("ad", "slot" -> "ad-slot")."""
    words = [w for w in _WORD_SPLIT.split(value.lower()) if w]
    return words + [f"{a}-{b}" for a, b in itertools.pairwise(words)]


def dom_rule(element: Any) -> str | None:
    """The DOM rule whose widget words the element's class, id or aria-label carry."""
    for attr in ("class", "id", "aria-label"):
        value = element.get(attr)
        if not value or not _QUICK.search(value.lower()):
            continue
        for word in _attr_words(value):
            rule = _DOM_WORDS.get(word)
            if rule is not None:
                return rule
            if _DOM_PREFIXES.match(word):
                return "related" if word.startswith(("related", "recommend", "outbrain",
                                                     "taboola")) else "share"
    return None


def _is_hover(element: Any) -> bool:
    value = element.get("class")
    if not value or not _QUICK_HOVER.search(value):
        return False
    return any(word in _HOVER_WORDS for word in _attr_words(value))


def _paragraph_text(element: Any) -> int:
    return sum(len(p.text_content()) for p in element.iter("p"))


def _remove(element: Any) -> None:
    """Remove an element but keep its tail text in place."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def prune_tree(tree: Any, disabled: frozenset[str] = frozenset()) -> dict[str, int]:
    """Remove labelled widget elements from ``tree`` in place; counts removals per rule."""
    removed: dict[str, int] = {}
    candidates: list[tuple[Any, str]] = []
    for element in tree.xpath("//*[@class or @id or @aria-label]"):  # in document order
        tag = element.tag
        if not isinstance(tag, str) or tag in _PROTECTED_TAGS:
            continue
        if "hovercard" not in disabled and tag != "a" and _is_hover(element):
            parent = element.getparent()
            if parent is not None and (parent.tag == "a" or _is_hover(parent)):
                candidates.append((element, "hovercard"))
                continue
        rule = dom_rule(element)
        if rule is not None and rule not in disabled:
            candidates.append((element, rule))
    if not candidates:
        return removed
    total = _paragraph_text(tree) or 1
    gone_set: set[Any] = set()
    gone: list[Any] = []
    for element, rule in candidates:
        if gone and any(a in gone_set for a in element.iterancestors()):
            continue
        if element.xpath(_PROTECTED_INSIDE):
            continue
        if _paragraph_text(element) > PRUNE_MAX_SHARE * total:
            continue
        gone.append(element)
        gone_set.add(element)
        removed[rule] = removed.get(rule, 0) + 1
    for element in reversed(gone):  # last first: a tail moves onto a sibling still in place
        _remove(element)
    return removed


# =========================================================================== loose lead text
#
# Many CMS templates (older WordPress themes, hand-written HTML, forum-like blogs) write the
# body as one container of text separated by ``<br>`` pairs, with no ``<p>`` at all:
#
#     <div class="content">First paragraph <em>with inline markup</em>.<br><br>Second …
#
# trafilatura picks up the text that follows each ``<br>`` (it is the ``<br>``'s tail), but when
# it settles on an outer container it can lose the container's own leading text, i.e. the first
# paragraph of the article. ``wrap_lead_text`` turns that leading run (the container's text and
# the inline elements up to the first ``<br>`` or block child) into a ``<p>`` of its own, as a
# browser would render it, so that it is judged like every other paragraph. Nothing is removed
# or reordered; containers without a ``<br>`` child are left alone (there trafilatura already
# treats the loose text as a paragraph).

INLINE_TAGS = frozenset(
    ["a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd",
     "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var"]
)


def wrap_lead_text(tree: Any) -> int:
    """Wrap the leading loose text of ``<br>``-separated containers in ``<p>``; returns a count."""
    wrapped = 0
    for element in tree.iter("div", "td", "section", "article", "main"):
        if not (element.text and element.text.strip()) or len(element) == 0:
            continue
        if element.find("br") is None:
            continue
        lead = []
        for child in element:
            if not isinstance(child.tag, str) or child.tag not in INLINE_TAGS:
                break
            lead.append(child)
        paragraph = element.makeelement("p", {})
        paragraph.text, element.text = element.text, None
        for child in lead:
            paragraph.append(child)  # moves the child together with its tail text
        element.insert(0, paragraph)
        wrapped += 1
    return wrapped


# =========================================================================== embedded posts
#
# A post embedded from a social network (the networks' standard embed code is a
# ``<blockquote class="twitter-tweet">``, ``"instagram-media"`` or ``"tiktok-embed"``) is a
# quotation the article makes: "Club statement — Tottenham Hotspur (@SpursOfficial)". trafilatura
# keeps such blockquotes as quotes, but CMSs often wrap them in widget containers
# (``<div class="article-widget article-tweet">``) that its boilerplate filter drops, and with
# them the quote. ``lift_embedded_posts`` replaces the wrappers that hold nothing but the embed
# (no other text; scripts and styles don't count) with the blockquote itself, so the quote is
# judged like any other. It climbs at most to the article container (``<article>``, ``<main>``,
# ``itemprop="articleBody"``), never past an ancestor holding other text, and moves nothing
# out of order.

EMBED_CLASSES = ("twitter-tweet", "instagram-media", "tiktok-embed")
_EMBED_XPATH = "//blockquote[{}]".format(" or ".join(
    f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')" for name in EMBED_CLASSES
))
_OWN_TEXT = ".//text()[not(ancestor::script) and not(ancestor::style)]"


def _visible_text(element: Any) -> str:
    return " ".join("".join(element.xpath(_OWN_TEXT)).split())


def lift_embedded_posts(tree: Any) -> int:
    """Replace wrappers holding only an embedded social post by the post; returns a count."""
    lifted = 0
    for quote in tree.xpath(_EMBED_XPATH):
        own = _visible_text(quote)
        top = None
        for ancestor in quote.iterancestors():
            if ancestor.tag in _PROTECTED_TAGS or ancestor.get("itemprop") == "articleBody":
                break
            if _visible_text(ancestor) != own:
                break
            top = ancestor
        parent = top.getparent() if top is not None else None
        if top is None or parent is None:
            continue
        quote.tail = top.tail
        parent.replace(top, quote)
        lifted += 1
    return lifted
