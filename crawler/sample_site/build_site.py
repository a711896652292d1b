"""Generate the static files of the sample news site, "The Sample Gazette".

    python -m crawler.sample_site.build_site [--texts PATH/ground-truth.json] [--out DIR]

The output is deterministic (fixed dates, no randomness) and is kept in the repository, so
the script only needs to run again when the site changes. English article texts come from
the article-extraction benchmark (MIT, see ``site/LICENSE-article-texts``); the French and
German articles are written for this site.

Absolute URLs are written with the placeholder ``__BASE__``, which the server replaces with
its own base URL. Besides the pages, the script writes ``manifest.json``: which articles
exist, with their metadata, and by which discovery paths a crawler can find each of them.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import re
import shutil
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

__all__ = ["build"]

HERE = Path(__file__).resolve().parent
DEFAULT_TEXTS = Path("/work/shared/benchmarks/article-extraction/ground-truth.json")
BASE = "__BASE__"
SITE_NAME = "The Sample Gazette"
SECTIONS = {"world": "World", "politics": "Politics", "business": "Business",
            "science": "Science", "culture": "Culture"}
CREDITS = ("Photo: Reuters", "Credit: Getty Images", "© AP Photo")
UTM = "?utm_source=homepage&utm_medium=web"
DISALLOWED = "/private/"
MISSING = "/broken-link/"
CET, CEST = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))
NEWS_SINCE = datetime(2026, 11, 13, tzinfo=CET)  # the news sitemap: the last ~7 days
LINK_DEPTH = 2  # "links" = reachable from / through non-article pages within 2 hops

AUTHORS = {
    "jane-doe": ("Jane Doe", "Foreign correspondent covering Asia and Europe."),
    "john-roe": ("John Roe", "Political reporter in Washington."),
    "maria-lopez": ("Maria Lopez", "Business editor, markets and companies."),
    "tom-becker": ("Tom Becker", "Science and health reporter."),
    "aisha-khan": ("Aisha Khan", "Reporter on world affairs and human rights."),
    "liam-oconnor": ("Liam O'Connor", "Writes about elections and Congress."),
    "sofia-rossi": ("Sofia Rossi", "Arts, music and culture critic."),
    "david-chen": ("David Chen", "Technology and industry correspondent."),
    "claire-dubois": ("Claire Dubois", "Correspondante culture, édition française."),
    "jonas-weber": ("Jonas Weber", "Wissenschaftsredakteur, deutsche Ausgabe."),
}
AUTHOR_SLUG = {name: slug for slug, (name, _) in AUTHORS.items()}
TAG_SLUGS = {"Hong Kong": "hong-kong", "China": "china", "Protests": "protests",
             "Impeachment": "impeachment", "US Politics": "us-politics",
             "Elections": "elections", "Markets": "markets", "Energy": "energy",
             "Aviation": "aviation", "Technology": "technology", "Space": "space",
             "Health": "health", "Music": "music", "Art": "art", "Media": "media",
             "Crime": "crime", "Europe": "europe", "Gaming": "gaming",
             "Education": "education", "Iran": "iran", "Ukraine": "ukraine",
             "Kultur": "kultur", "Umwelt": "umwelt", "Bibliothèques": "bibliotheques"}
TRENDING_TAGS = ("Hong Kong", "Impeachment", "Space", "Markets")
HOME_AUTHORS = ("jane-doe", "john-roe", "maria-lopez")
JUNK = re.compile(
    r"^(Read more|Related:|Advertisement|Sign up|Subscribe|Follow |Click |Main image credit|"
    r"Originally published|This article was originally|\(Image credit|\(Graphic|Disclaimer|"
    r"Dear Abby is written|Catch up on|Cover image:|_{2,})|"
    r"All rights reserved|– previews$", re.IGNORECASE)


@dataclass
class Spec:
    """One article of the site; ``role`` marks the ones found by a single path only."""

    source: str  # benchmark page-id prefix, or "own:fr" / "own:de"
    section: str
    slug: str
    title: str
    published: str
    authors: list[str]
    tags: list[str]
    caption: str
    modified: str | None = None
    role: str = ""  # links-only | articles-sitemap-only | rss-only | atom-only | news-only
    lang: str = "en"
    utm: bool = False
    amp: bool = False
    caption_twice: bool = False
    likes: bool = False
    paragraphs: list[str] = field(default_factory=list)
    list_items: list[str] = field(default_factory=list)

    @property
    def published_dt(self) -> datetime:
        return datetime.fromisoformat(self.published)

    @property
    def modified_dt(self) -> datetime:
        return datetime.fromisoformat(self.modified or self.published)

    @property
    def path(self) -> str:
        d = self.published_dt
        return f"/{self.section}/{d:%Y/%m/%d}/{self.slug}.html"

    @property
    def amp_path(self) -> str:
        return "/amp" + self.path

    @property
    def public(self) -> bool:
        """Listed on the site's own pages (section, tag, author, home...)."""
        return not self.role

    @property
    def credit(self) -> str:
        return CREDITS[sum(map(ord, self.slug)) % len(CREDITS)]


def _ts(month: int, day: int, hour: int, minute: int) -> str:
    # Central European time: summer time until 25 October 2026.
    tz = CEST if (month, day) < (10, 25) else CET
    return datetime(2026, month, day, hour, minute, tzinfo=tz).isoformat()


SPECS: list[Spec] = [
    Spec("8b194530", "world", "hunter-bubonic-plague-rabbit",
         "Hunter who ate a wild rabbit diagnosed with bubonic plague",
         _ts(10, 1, 9, 15), ["Jane Doe"], ["China", "Health"],
         "A health worker sprays disinfectant at a market in Beijing.",
         modified=_ts(10, 1, 14, 40)),
    Spec("33fe2471", "culture", "amsterdam-light-festival",
         "Thirty artworks light up Amsterdam for the Light Festival",
         _ts(10, 3, 11, 0), ["Sofia Rossi"], ["Art", "Europe"],
         "A light installation reflected in the water of an Amsterdam canal.",
         likes=True),
    Spec("87438a0d", "culture", "dear-abby-business-class",
         "Dear Abby: Husband flies business class and leaves wife in economy",
         _ts(10, 6, 7, 30), ["Sofia Rossi"], ["Travel"],
         "Passengers board a long-haul flight.", role="links-only"),
    Spec("9ebb3af6", "business", "houston-car-sales-plunge",
         "New car sales in Houston plunge 10 percent",
         _ts(10, 8, 16, 45), ["Maria Lopez"], ["Markets", "Cars"],
         "New vehicles lined up on a dealership lot in Houston.",
         role="articles-sitemap-only"),
    Spec("bd673bd7", "science", "feather-duvet-lung",
         "Man's new feather bedding led to 'duvet lung', doctors say",
         _ts(10, 10, 10, 5), ["Tom Becker"], ["Health"],
         "Feather pillows and a duvet on a bed.", caption_twice=True),
    Spec("156770d6", "politics", "noem-meth-campaign",
         "South Dakota governor defends 'Meth. We're on it.' campaign",
         _ts(10, 13, 8, 20), ["John Roe", "Liam O'Connor"], ["US Politics", "Health"],
         "A billboard of the state's anti-drug campaign near Sioux Falls.",
         modified=_ts(10, 13, 12, 0), likes=True),
    Spec("own:de", "science", "messstation-hochwasser-fruehwarnung",
         "Neue Messstation soll Hochwasser an der Lauter früher erkennen",
         _ts(10, 15, 9, 0), ["Jonas Weber"], ["Umwelt", "Kultur"],
         "Die neue Messstation am Ufer der Lauter.", lang="de"),
    Spec("d90bda7e", "world", "iran-protest-killings-footage",
         "Footage reveals pattern of unlawful killings during Iran protests",
         _ts(10, 17, 13, 10), ["Aisha Khan"], ["Iran", "Protests"],
         "Smoke rises over a street during protests in Tehran."),
    Spec("f8ff621a", "business", "home-depot-forecast-cut",
         "Home Depot shares slip after the retailer cuts its sales forecast",
         _ts(10, 20, 15, 30), ["Maria Lopez", "David Chen"], ["Markets"],
         "Shoppers outside a Home Depot store.", modified=_ts(10, 21, 9, 0)),
    Spec("7de52419", "politics", "indiana-teachers-rally",
         "Thousands of teachers rally at the Indiana Statehouse for better pay",
         _ts(10, 22, 18, 0), ["John Roe"], ["Education", "US Politics"],
         "Teachers dressed in red fill the Statehouse in Indianapolis.", caption_twice=True),
    Spec("9cb8224b", "culture", "doobie-brothers-anniversary-tour",
         "The Doobie Brothers announce a 50th anniversary reunion tour",
         _ts(10, 24, 12, 0), ["Sofia Rossi"], ["Music"],
         "The Doobie Brothers on stage in Nashville.", likes=True),
    Spec("7a457a4f", "politics", "man-pleads-guilty-omar-threat",
         "New York man pleads guilty to threatening to kill Rep. Ilhan Omar",
         _ts(10, 27, 17, 25), ["Liam O'Connor"], ["Crime", "US Politics"],
         "The federal courthouse in Rochester, New York."),
    Spec("bc13ff87", "business", "wework-layoffs",
         "WeWork to lay off thousands of employees this week",
         _ts(10, 29, 8, 0), ["Maria Lopez"], ["Markets", "Technology"],
         "A WeWork office building in New York.", modified=_ts(10, 30, 10, 15)),
    Spec("7a664e40", "politics", "volker-morrison-testimony",
         "Key moments from the Volker and Morrison impeachment testimony",
         _ts(10, 31, 21, 40), ["Jane Doe", "John Roe"], ["Impeachment", "Ukraine"],
         "Kurt Volker and Tim Morrison are sworn in before the committee.",
         caption_twice=True),
    Spec("own:fr", "culture", "mediatheque-port-salin-reouverture",
         "La médiathèque de Port-Salin rouvre ses portes après deux ans de travaux",
         _ts(11, 2, 10, 30), ["Claire Dubois"], ["Bibliothèques", "Kultur"],
         "La nouvelle salle de lecture de la médiathèque.", lang="fr"),
    Spec("d1c57d78", "science", "nasa-lunar-lander-companies",
         "NASA adds five companies to its commercial lunar lander program",
         _ts(11, 4, 14, 0), ["Tom Becker", "David Chen"], ["Space", "Technology"],
         "A model of a lunar lander on display.", modified=_ts(11, 4, 19, 30)),
    Spec("57d46c9d", "business", "oil-prices-oversupply",
         "Oil prices fall on oversupply worries as stocks extend their rally",
         _ts(11, 5, 22, 10), ["Maria Lopez"], ["Markets", "Energy"],
         "An oil pump jack at sunset."),
    Spec("686bb170", "science", "europa-water-vapor-plumes",
         "Europa's water-vapor plumes appear to be real after all",
         _ts(11, 7, 9, 45), ["Tom Becker"], ["Space"],
         "Jupiter's moon Europa seen by a space probe.", role="atom-only"),
    Spec("82b6d780", "politics", "sondland-testimony-preview",
         "Unpredictable Sondland faces questions over his Ukraine accounts",
         _ts(11, 9, 7, 0), ["John Roe"], ["Impeachment", "Ukraine"],
         "Gordon Sondland arrives on Capitol Hill.", role="rss-only"),
    Spec("e7994d55", "world", "conservatives-factcheckuk-account",
         "UK Conservatives accused of deceiving voters with 'factcheckUK' account",
         _ts(11, 10, 8, 0), ["Jane Doe"], ["Elections", "Europe", "Media"],
         "Party leaders during the televised election debate in Salford.",
         modified=_ts(11, 10, 16, 20)),
    Spec("8634d121", "business", "gannett-gatehouse-merger",
         "What the Gannett-GateHouse merger means for local news",
         _ts(11, 11, 12, 15), ["David Chen"], ["Media"],
         "Newspapers on a stand in Los Angeles.", likes=True),
    Spec("aec5deea", "politics", "democratic-debate-key-questions",
         "Seven key questions heading into the Democratic debate",
         _ts(11, 12, 6, 30), ["Liam O'Connor", "John Roe"], ["Elections", "US Politics"],
         "Candidates on stage before a previous debate."),
    Spec("624fcd90", "world", "hong-kong-polytechnic-siege",
         "Hong Kong police tell protesters at Polytechnic University to surrender",
         _ts(11, 13, 10, 0), ["Jane Doe", "Aisha Khan"], ["Hong Kong", "China", "Protests"],
         "Police officers outside the Polytechnic University campus.", utm=True,
         modified=_ts(11, 13, 18, 45)),
    Spec("abd9d629", "science", "doctors-flu-shots-migrants",
         "Doctors offer free flu shots to migrants held in detention",
         _ts(11, 14, 11, 20), ["Tom Becker"], ["Health", "US Politics"],
         "A doctor prepares a flu vaccine.", utm=True, caption_twice=True),
    Spec("8267acac", "culture", "google-stadia-launch",
         "Google bets on the future of gaming with the Stadia launch",
         _ts(11, 15, 16, 0), ["David Chen"], ["Gaming", "Technology"],
         "A Stadia controller at a launch event.", utm=True),
    Spec("04a6711c", "politics", "voters-impeachment-elections-opinion",
         "Opinion: Voters keep rejecting the bet against impeachment",
         _ts(11, 16, 9, 30), ["Liam O'Connor"], ["Impeachment", "Elections"],
         "Voters queue outside a polling station in Virginia.",
         modified=_ts(11, 17, 8, 10), likes=True),
    Spec("374ac9a5", "business", "emirates-boeing-787-order",
         "Emirates orders 30 Boeing 787 Dreamliners at the Dubai Airshow",
         _ts(11, 17, 13, 5), ["Maria Lopez"], ["Aviation", "Markets"],
         "An Emirates aircraft on display at the Dubai Airshow.", role="news-only"),
    Spec("e4c6a3b4", "world", "beijing-hong-kong-force-opinion",
         "Opinion: Why Beijing may send troops onto Hong Kong's streets",
         _ts(11, 18, 9, 30), ["Aisha Khan"], ["Hong Kong", "China"],
         "Soldiers of the People's Liberation Army garrison in Hong Kong.",
         modified=_ts(11, 18, 15, 0)),
    Spec("360c732d", "business", "alibaba-hong-kong-listing",
         "Alibaba to raise up to $12.9bn in its Hong Kong listing",
         _ts(11, 19, 8, 45), ["Maria Lopez", "David Chen"], ["Hong Kong", "Markets"],
         "Alibaba's headquarters in Hangzhou.", amp=True),
    Spec("5fa3154e", "world", "hong-kong-city-on-the-brink",
         "Hong Kong: a city on the brink",
         _ts(11, 20, 7, 15), ["Jane Doe"], ["Hong Kong", "Protests"],
         "Protesters shelter behind umbrellas in Kowloon.", modified=_ts(11, 20, 12, 30)),
]

OWN_TEXTS = {
    "own:fr": [
        "Après deux années de travaux, la médiathèque municipale de Port-Salin a rouvert ses "
        "portes samedi matin. Plusieurs centaines d'habitants se pressaient déjà devant "
        "l'entrée bien avant l'ouverture, certains venus avec des livres empruntés avant la "
        "fermeture et jamais rendus.",
        "Le bâtiment, construit dans les années 1970, a été entièrement rénové. Les salles de "
        "lecture ont été agrandies, une terrasse couverte donne désormais sur le port et un "
        "espace consacré aux jeux vidéo et à la musique a été aménagé au rez-de-chaussée.",
        "« Nous voulions un lieu où l'on vient pour lire, mais aussi pour travailler, apprendre "
        "et se retrouver », explique la directrice de l'établissement, Hélène Marchal. Les "
        "horaires d'ouverture ont été élargis au dimanche après-midi, une première dans le "
        "département.",
        "Ce qui change pour les lecteurs",
        "Le chantier a coûté 6,4 millions d'euros, financés pour moitié par la commune et pour "
        "le reste par la région et l'État. Le conseil municipal avait un temps envisagé de "
        "réduire le projet, avant de le maintenir dans sa version initiale après une "
        "consultation des habitants.",
        "L'inscription reste gratuite pour les moins de dix-huit ans. Pour les adultes, "
        "l'abonnement annuel passe de douze à dix euros, et chaque lecteur pourra désormais "
        "emprunter jusqu'à quinze documents à la fois, contre dix auparavant.",
    ],
    "own:de": [
        "Eine neue Messstation am Oberlauf der Lauter soll künftig früher vor Hochwasser "
        "warnen. Die Anlage, die am Dienstag in Betrieb genommen wurde, misst alle fünf "
        "Minuten den Pegelstand, die Fließgeschwindigkeit und die Niederschlagsmenge und "
        "übermittelt die Daten per Funk an die Leitstelle des Landkreises.",
        "Bisher vergingen nach starken Regenfällen oft mehrere Stunden, bis die Behörden ein "
        "genaues Bild der Lage hatten. „Mit den neuen Daten gewinnen wir im Ernstfall "
        "wertvolle Zeit für Warnungen und Evakuierungen“, sagte die Leiterin des Umweltamts, "
        "Katrin Albers, bei der Vorstellung der Station.",
        "Wie es weitergeht",
        "Entwickelt wurde das System gemeinsam mit einer Arbeitsgruppe der örtlichen "
        "Hochschule, die die Messwerte auch für ihre Forschung nutzen will. Die "
        "Wissenschaftler wollen untersuchen, wie sich die zunehmende Versiegelung von Flächen "
        "auf das Abflussverhalten kleiner Flüsse auswirkt.",
        "Die Kosten von rund 180.000 Euro tragen Land und Landkreis gemeinsam. Zwei weitere "
        "Stationen an Nebenflüssen sollen im kommenden Frühjahr folgen; die Messwerte sollen "
        "dann auch öffentlich im Internet abrufbar sein.",
    ],
}
SUBHEADS = {"en": ("What happens next", "The background", "A closer look", "What it means"),
            "fr": ("Ce qui change",), "de": ("Wie es weitergeht",)}
UI = {
    "en": {"by": "By", "and": "and", "related": "Related stories", "share": "Share this article",
           "updated": "Updated"},
    "fr": {"by": "Par", "and": "et", "related": "À lire aussi", "share": "Partager cet article",
           "updated": "Mis à jour"},
    "de": {"by": "Von", "and": "und", "related": "Mehr zum Thema",
           "share": "Diesen Artikel teilen", "updated": "Aktualisiert"},
}


# --- article texts -------------------------------------------------------------------------
def _words(text: str) -> int:
    return len(text.split())


def _is_subhead(text: str) -> bool:
    return _words(text) < 10 and not re.search(r"[.!:,;]['\"”’]?$", text)


def prepare_text(body: str) -> tuple[list[str], list[str]]:
    """Paragraphs (subheadings as they are) and a trailing short list, junk removed."""
    paras = [re.sub(r"\s+", " ", p).strip() for p in body.split("\n")]
    paras = [re.sub(r"^PanARMENIAN\.Net - ", "", p) for p in paras]  # wire-agency prefix
    paras = [p for p in paras if p and not JUNK.search(p)]
    # exact repeats (some bodies repeat their lead) go
    paras = list(dict.fromkeys(paras))
    while paras and _words(paras[0]) < 8:
        paras.pop(0)
    tail: list[str] = []
    while paras and (_words(paras[-1]) < 10 or re.match(r"\w+\.? \d+ -- ", paras[-1])):
        tail.insert(0, paras.pop())  # e.g. a list of tour dates
    while paras and _is_subhead(paras[-1]):
        paras.pop()
    items = tail if len(tail) >= 3 else []
    return paras, items


def load_texts(specs: list[Spec], texts: Path) -> None:
    data = json.loads(texts.read_text(encoding="utf-8"))
    for spec in specs:
        if spec.source.startswith("own:"):
            spec.paragraphs = list(OWN_TEXTS[spec.source])
            continue
        (key,) = [k for k in data if k.startswith(spec.source)]
        spec.paragraphs, spec.list_items = prepare_text(data[key]["articleBody"])
        assert _words(" ".join(spec.paragraphs)) >= 250, spec.slug


# --- HTML building blocks ---------------------------------------------------------------------
def esc(text: str) -> str:
    return html.escape(text, quote=True)


def txt(text: str) -> str:
    """Escape for a text node (quotes stay as they are)."""
    return html.escape(text, quote=False)


def jsonld(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=2).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


def tag_link(tag: str) -> str:
    return f"/tag/{TAG_SLUGS.setdefault(tag, re.sub(r'[^a-z0-9]+', '-', tag.lower()))}/"


def head(title: str, path: str, *, description: str, og_type: str = "website",
         extra: str = "", canonical: str | None = None) -> str:
    canonical = canonical or path
    return f"""<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<meta name="description" content="{esc(description)}">
<meta property="og:type" content="{og_type}">
<meta property="og:title" content="{esc(title.split(' | ', maxsplit=1)[0])}">
<meta property="og:url" content="{BASE}{canonical}">
<meta property="og:site_name" content="{SITE_NAME}">
<meta name="twitter:card" content="summary_large_image">
<link rel="canonical" href="{BASE}{canonical}">
<link rel="alternate" type="application/rss+xml" title="{SITE_NAME} (RSS)"
      href="{BASE}/feeds/rss.xml">
<link rel="stylesheet" href="/static/site.css">
{extra}</head>"""


def site_header() -> str:
    nav = "\n".join(f'    <li><a href="/{s}/">{name}</a></li>' for s, name in SECTIONS.items())
    return f"""<header class="site-header">
  <a class="logo" href="/">{SITE_NAME}</a>
  <nav class="main-nav" aria-label="Sections">
   <ul>
{nav}
    <li><a href="/search/">Search</a></li>
   </ul>
  </nav>
</header>"""


def site_footer() -> str:
    return f"""<footer class="site-footer">
  <nav aria-label="Footer">
    <a href="/about/">About us</a> · <a href="/about/#contact">Contact</a> ·
    <a href="/about/#privacy">Privacy policy</a> · <a href="/about/#terms">Terms of use</a>
  </nav>
  <p class="copyright">© 2026 {SITE_NAME}. All rights reserved.</p>
</footer>"""


def page(lang: str, head_html: str, body: str, *, html_attrs: str = "") -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}"{html_attrs}>\n{head_html}\n<body>\n'
            f"{site_header()}\n<main>\n{body}\n</main>\n{site_footer()}\n</body>\n</html>\n")


def fmt_date(dt: datetime, lang: str = "en") -> str:
    if lang == "fr":
        months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                  "septembre", "octobre", "novembre", "décembre"]
        return f"{dt.day} {months[dt.month - 1]} {dt.year}"
    if lang == "de":
        months = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                  "September", "Oktober", "November", "Dezember"]
        return f"{dt.day}. {months[dt.month - 1]} {dt.year}"
    return f"{dt:%B} {dt.day}, {dt.year}"


def teaser(spec: Spec, href: str | None = None, *, summary: bool = True) -> str:
    href = href or spec.path
    text = f'\n    <p class="summary">{esc(description(spec))}</p>' if summary else ""
    return (f'  <li class="teaser">\n    <h3><a href="{esc(href)}">{esc(spec.title)}</a></h3>\n'
            f'    <time datetime="{spec.published}">{fmt_date(spec.published_dt)}</time>'
            f"{text}\n  </li>")


def description(spec: Spec) -> str:
    first = spec.paragraphs[0]
    if len(first) <= 155:
        return first
    return first[:150].rsplit(" ", 1)[0] + "…"


# --- article pages ----------------------------------------------------------------------------
def byline(spec: Spec) -> str:
    ui = UI[spec.lang]
    links = [f'<a rel="author" href="/author/{AUTHOR_SLUG[a]}/">{esc(a)}</a>'
             for a in spec.authors]
    names = links[0] if len(links) == 1 else (
        ", ".join(links[:-1]) + f" {ui['and']} {links[-1]}")
    updated = ""
    if spec.modified:
        updated = (f' · <span class="updated">{ui["updated"]} <time datetime="{spec.modified}">'
                   f"{spec.modified_dt:%H:%M}</time></span>")
    return (f'<p class="byline">{ui["by"]} {names} · <time class="published" '
            f'datetime="{spec.published}">{fmt_date(spec.published_dt, spec.lang)}</time>'
            f"{updated}</p>")


def article_body(spec: Spec, index: int) -> str:
    paras = spec.paragraphs
    has_subhead = any(_is_subhead(p) for p in paras[1:-1])
    middle = len(paras) // 2
    out: list[str] = []
    quoted = False
    for i, p in enumerate(paras):
        if i == middle and not has_subhead and len(paras) >= 5:
            subheads = SUBHEADS[spec.lang]
            out.append(f"<h2>{txt(subheads[index % len(subheads)])}</h2>")
        if i == 2:
            out.append('<div class="ad-slot" aria-hidden="true"><span class="ad-label">'
                       "Advertisement</span></div>")
        if i == 3 and spec.caption_twice:
            out.append(f'<p class="caption">{txt(spec.caption)} {txt(spec.credit)}</p>')
        if 0 < i < len(paras) - 1 and _is_subhead(p):
            out.append(f"<h2>{txt(p)}</h2>")
        elif (index % 3 == 0 and not quoted and 0 < i < len(paras) - 1
              and p[:1] in "“\"«„" and _words(p) >= 12):
            quoted = True
            out.append(f"<blockquote>\n  <p>{txt(p)}</p>\n</blockquote>")
        else:
            out.append(f"<p>{txt(p)}</p>")
    if spec.list_items:
        items = "\n".join(f"  <li>{txt(x)}</li>" for x in spec.list_items)
        out.append(f'<ul class="list">\n{items}\n</ul>')
    return "\n".join(out)


def article_jsonld(spec: Spec) -> dict[str, Any]:
    url = BASE + spec.path
    return {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": spec.title,
        "description": description(spec),
        "image": [f"{BASE}/images/{spec.slug}.svg"],
        "datePublished": spec.published,
        "dateModified": spec.modified or spec.published,
        "author": [{"@type": "Person", "name": a, "url": f"{BASE}/author/{AUTHOR_SLUG[a]}/"}
                   for a in spec.authors],
        "publisher": {"@type": "Organization", "name": SITE_NAME,
                      "logo": {"@type": "ImageObject", "url": f"{BASE}/static/logo.svg"}},
        "inLanguage": spec.lang,
        "isAccessibleForFree": True,
        "keywords": spec.tags,
        "articleSection": SECTIONS[spec.section],
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
    }


def article_page(spec: Spec, index: int, related: list[Spec], *, amp: bool = False) -> str:
    ui = UI[spec.lang]
    metas = [f'<meta property="article:published_time" content="{spec.published}">',
             f'<meta property="article:modified_time" content="{spec.modified or spec.published}">',
             f'<meta property="article:section" content="{SECTIONS[spec.section]}">']
    metas += [f'<meta property="article:tag" content="{esc(t)}">' for t in spec.tags]
    metas += [f'<meta name="author" content="{esc(", ".join(spec.authors))}">',
              f'<meta property="og:image" content="{BASE}/images/{spec.slug}.svg">',
              f'<meta property="og:description" content="{esc(description(spec))}">']
    if spec.amp and not amp:
        metas.append(f'<link rel="amphtml" href="{BASE}{spec.amp_path}">')
    extra = "\n".join(metas) + "\n" + jsonld(article_jsonld(spec)) + "\n"
    head_html = head(f"{spec.title} | {SITE_NAME}", spec.path, description=description(spec),
                     og_type="article", extra=extra)
    url = BASE + spec.path
    tags = " ".join(f'<a href="{tag_link(t)}">{esc(t)}</a>' for t in spec.tags)
    related_html = "\n".join(teaser(r, summary=False) for r in related)
    likes = ""
    if spec.likes:
        likes = """<div class="sharedaddy sd-block sd-like jetpack-likes-widget-wrapper">
  <h3 class="sd-title">Like this:</h3>
  <div class="likes-widget-placeholder"><span class="button"><span>Like</span></span>
    <span class="loading">Loading...</span></div>
  <span class="sd-text-color">%d bloggers like this:</span>
</div>
"""
    body = f"""<nav class="breadcrumb" aria-label="Breadcrumb">
  <a href="/">Home</a> › <a href="/{spec.section}/">{SECTIONS[spec.section]}</a>
</nav>
<article class="story">
<header class="story-header">
<h1>{esc(spec.title)}</h1>
{byline(spec)}
</header>
<figure class="lead-image">
  <img src="/images/{spec.slug}.svg" alt="{esc(spec.caption)}" width="1200" height="675">
  <figcaption>{esc(spec.caption)} <span class="credit">{esc(spec.credit)}</span></figcaption>
</figure>
<div class="story-body">
{article_body(spec, index)}
</div>
<p class="tags">Topics: {tags}</p>
<div class="share-bar">{ui["share"]}:
  <a href="https://www.facebook.com/sharer/sharer.php?u={url}">Facebook</a>
  <a href="https://twitter.com/intent/tweet?url={url}">Twitter</a>
  <a href="mailto:?subject={esc(spec.title)}&amp;body={url}">Email</a>
</div>
{likes}<aside class="newsletter">
  <h3>Sign up for our newsletter</h3>
  <p>The day's most important stories, in your inbox every morning.</p>
  <form action="/newsletter/" method="post">
    <input type="email" name="email" placeholder="Your email"> <button>Subscribe</button>
  </form>
</aside>
</article>
<section class="related">
  <h2>{ui["related"]}</h2>
  <p>Read more:</p>
  <ul>
{related_html}
  </ul>
</section>
<section id="comments" class="comments">
  <h2>Leave a Comment</h2>
  <form action="/comments/" method="post" class="comment-form">
    <p class="comment-notes">Your email address will not be published.
      Required fields are marked *</p>
    <p><label>Comment <textarea name="comment"></textarea></label></p>
    <p><label>Name * <input name="author"></label> <label>Email * <input name="email"></label></p>
    <p><button>Post Comment</button></p>
  </form>
</section>
<aside class="ad-slot sidebar-ad"><span class="ad-label">Advertisement</span></aside>"""
    attrs = " amp" if amp else ""
    return page(spec.lang, head_html, body, html_attrs=attrs)


# --- other pages ------------------------------------------------------------------------------
def listing_page(title: str, path: str, heading: str, intro: str, items: list[str], *,
                 ld_type: str = "CollectionPage", og_type: str = "website",
                 extra_body: str = "") -> str:
    ld = {"@context": "https://schema.org", "@type": ld_type, "name": heading,
          "url": BASE + path, "isPartOf": {"@type": "WebSite", "name": SITE_NAME,
                                           "url": BASE + "/"}}
    head_html = head(f"{title} | {SITE_NAME}", path, description=intro, og_type=og_type,
                     extra=jsonld(ld) + "\n")
    listing = "\n".join(items)
    body = (f'<h1>{esc(heading)}</h1>\n<p class="intro">{esc(intro)}</p>\n'
            f'<ul class="story-list">\n{listing}\n</ul>\n{extra_body}')
    return page("en", head_html, body)


def home_page(specs: list[Spec], newest: Spec) -> str:
    public = [s for s in reversed(specs) if s.public]
    lead = public[:8]
    items = [teaser(s, s.path + UTM if s.utm else s.path) for s in lead]
    trending = " · ".join(f'<a href="{tag_link(t)}">{esc(t)}</a>' for t in TRENDING_TAGS)
    writers = " · ".join(f'<a href="/author/{a}/">{esc(AUTHORS[a][0])}</a>'
                         for a in HOME_AUTHORS)
    sections = " · ".join(f'<a href="/{s}/">{n}</a>' for s, n in SECTIONS.items())
    ld = {"@context": "https://schema.org", "@type": "WebSite", "name": SITE_NAME,
          "url": BASE + "/",
          "potentialAction": {"@type": "SearchAction",
                              "target": BASE + "/search/?q={search_term_string}",
                              "query-input": "required name=search_term_string"}}
    extra = (f'<link rel="alternate" type="application/atom+xml" title="{SITE_NAME} (Atom)" '
             f'href="{BASE}/feeds/atom.xml">\n{jsonld(ld)}\n')
    head_html = head(f"{SITE_NAME} | News from around the world", "/",
                     description="Independent news, analysis and opinion from The Sample "
                                 "Gazette.", extra=extra)
    lead_html = "\n".join(items)
    body = f"""<h1 class="visually-hidden">{SITE_NAME}</h1>
<section class="top-stories">
<h2>Top stories</h2>
<ul class="story-list">
{lead_html}
</ul>
<p class="latest"><a href="/go/latest">Latest: {esc(newest.title)}</a></p>
</section>
<section class="more">
<h2>Sections</h2>
<p>{sections}</p>
<h2>Trending topics</h2>
<p>{trending}</p>
<h2>Our writers</h2>
<p>{writers}</p>
<h2>In pictures</h2>
<p><a href="/gallery/hong-kong-in-pictures/">Hong Kong's autumn of protest, in pictures</a></p>
<h2>From the archive</h2>
<p><a href="{MISSING}">Election results archive</a> ·
<a href="{DISALLOWED}2026/11/01/secret-draft.html">Preview: our next investigation</a> ·
<a href="/search/">Search the archive</a></p>
</section>
<aside class="newsletter">
  <h3>Sign up for our newsletter</h3>
  <form action="/newsletter/" method="post">
    <input type="email" name="email"> <button>Subscribe</button>
  </form>
</aside>"""
    return page("en", head_html, body)


def section_page(section: str, specs: list[Spec]) -> str:
    own = [s for s in reversed(specs) if s.section == section
           and (s.public or s.role == "links-only")]
    items = [teaser(s) for s in own]
    extra = ""
    amp = [s for s in own if s.amp]
    if amp:
        links = "\n".join(f'  <li><a href="{s.amp_path}">{esc(s.title)} (mobile edition)'
                          "</a></li>" for s in amp)
        extra = (f'<aside class="mobile-edition">\n<h2>Mobile edition</h2>\n<ul>\n{links}\n'
                 "</ul>\n</aside>")
    name = SECTIONS[section]
    return listing_page(name, f"/{section}/", name,
                        f"The latest {name.lower()} news and analysis from {SITE_NAME}.",
                        items, extra_body=extra)


def tag_page(tag: str, specs: list[Spec]) -> str:
    own = [s for s in reversed(specs) if s.public and tag in s.tags]
    slug = tag_link(tag)
    return listing_page(f"{tag} – Topic", slug, f"Topic: {tag}",
                        f"All our stories about {tag}.", [teaser(s) for s in own])


def author_page(slug: str, specs: list[Spec]) -> str:
    name, bio = AUTHORS[slug]
    own = [s for s in reversed(specs) if s.public and name in s.authors]
    return listing_page(name, f"/author/{slug}/", name, bio, [teaser(s) for s in own],
                        ld_type="ProfilePage", og_type="profile")


def about_page() -> str:
    ld = {"@context": "https://schema.org", "@type": "AboutPage", "name": "About us",
          "url": BASE + "/about/"}
    head_html = head(f"About us | {SITE_NAME}", "/about/",
                     description=f"Who we are: the newsroom of {SITE_NAME}.",
                     extra=jsonld(ld) + "\n")
    body = f"""<h1>About us</h1>
<p>{SITE_NAME} is a small independent newsroom. Our reporters cover world affairs, politics,
business, science and culture, and every story we publish is edited and fact-checked by at
least two people before it appears on this website.</p>
<p>We are funded by our readers and by advertising. Advertisers have no say over what we
write. When we get something wrong we correct it openly, with a note at the end of the story
that explains what changed and when.</p>
<h2 id="contact">Contact</h2>
<p>Write to the newsroom at newsroom@sample-gazette.invalid.</p>
<h2 id="privacy">Privacy policy</h2>
<p>We keep no personal data beyond what you give us to receive our newsletter.</p>
<h2 id="terms">Terms of use</h2>
<p>Our articles may be quoted with a link to the original story.</p>"""
    return page("en", head_html, body)


def gallery_page(specs: list[Spec]) -> str:
    path = "/gallery/hong-kong-in-pictures/"
    shots = [("Protesters build a barricade near the harbour.", "Photo: Reuters"),
             ("A student holds up a sign outside the campus.", "© AP Photo"),
             ("Riot police advance along Nathan Road.", "Credit: Getty Images"),
             ("Umbrellas shield demonstrators from tear gas.", "Photo: Reuters"),
             ("Volunteers clear debris the morning after.", "© AP Photo")]
    ld = {"@context": "https://schema.org", "@type": "ImageGallery",
          "name": "Hong Kong's autumn of protest, in pictures", "url": BASE + path}
    head_html = head(f"Hong Kong's autumn of protest, in pictures | {SITE_NAME}", path,
                     description="Photographs from the protests in Hong Kong.",
                     extra=jsonld(ld) + "\n")
    figures = "\n".join(
        f'<figure>\n  <img src="/images/gallery-{i}.svg" alt="{esc(c)}" width="1200" '
        f'height="800">\n  <figcaption>{esc(c)} <span class="credit">{esc(cr)}</span>'
        f"</figcaption>\n</figure>" for i, (c, cr) in enumerate(shots, 1))
    story = next(s for s in specs if s.slug == "hong-kong-polytechnic-siege")
    body = (f"<h1>Hong Kong's autumn of protest, in pictures</h1>\n{figures}\n"
            f'<p>Read the story: <a href="{story.path}">{esc(story.title)}</a></p>')
    return page("en", head_html, body)


def search_page(specs: list[Spec]) -> str:
    hits = [s for s in reversed(specs) if s.public and "Hong Kong" in s.tags][:3]
    extra_head = '<meta name="robots" content="noindex, follow">'
    ld = {"@context": "https://schema.org", "@type": "SearchResultsPage",
          "name": "Search results", "url": BASE + "/search/"}
    head_html = head(f"Search | {SITE_NAME}", "/search/", description="Search our stories.",
                     extra=extra_head + "\n" + jsonld(ld) + "\n")
    results = "\n".join(teaser(s) for s in hits)
    body = f"""<h1>Search</h1>
<form action="/search/" method="get">
  <input type="search" name="q" value="hong kong"> <button>Search</button>
</form>
<p class="result-count">{len(hits)} results for “hong kong”</p>
<ul class="search-results">
{results}
</ul>"""
    return page("en", head_html, body)


def private_page() -> str:
    path = f"{DISALLOWED}2026/11/01/secret-draft.html"
    ld = {"@context": "https://schema.org", "@type": "NewsArticle",
          "headline": "DRAFT: embargoed investigation", "datePublished": _ts(11, 1, 9, 0),
          "author": [{"@type": "Person", "name": "Jane Doe"}], "inLanguage": "en"}
    extra = (f'<meta property="article:published_time" content="{_ts(11, 1, 9, 0)}">\n'
             f'<meta name="robots" content="noindex, nofollow">\n{jsonld(ld)}\n')
    head_html = head(f"DRAFT: embargoed investigation | {SITE_NAME}", path,
                     description="Draft, not for publication.", og_type="article",
                     extra=extra)
    para = ("This is an unpublished draft held under embargo. It sits in a directory that "
            "robots.txt disallows, and a polite crawler must never request it, even though "
            "the homepage links to it by mistake. ")
    body = (f'<article>\n<h1>DRAFT: embargoed investigation</h1>\n<p class="byline">By Jane '
            f'Doe · <time datetime="{_ts(11, 1, 9, 0)}">November 1, 2026</time></p>\n'
            + "\n".join(f"<p>{para * 2}</p>" for _ in range(4)) + "\n</article>")
    return page("en", head_html, body)


def svg(label: str, hue: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" '
            f'viewBox="0 0 1200 675"><rect width="1200" height="675" '
            f'fill="hsl({hue % 360},35%,55%)"/><text x="600" y="350" font-family="sans-serif" '
            f'font-size="40" text-anchor="middle" fill="#fff">{esc(label)}</text></svg>\n')


CSS = """body{font-family:Georgia,serif;max-width:60rem;margin:0 auto;padding:0 1rem;color:#222}
.site-header,.site-footer{font-family:sans-serif;border-bottom:1px solid #ccc;padding:.5rem 0}
.site-footer{border-top:1px solid #ccc;border-bottom:0;margin-top:2rem;font-size:.9rem}
.main-nav ul{list-style:none;padding:0;display:flex;gap:1rem}.logo{font-size:2rem;font-weight:bold}
figure img{max-width:100%;height:auto}figcaption,.caption,.credit{font-size:.85rem;color:#555}
.ad-slot{background:#eee;text-align:center;padding:1rem;font-family:sans-serif;font-size:.8rem}
.visually-hidden{position:absolute;left:-9999px}
"""


# --- feeds and sitemaps -----------------------------------------------------------------------
def xml_text(text: str) -> str:
    return html.escape(text, quote=False)


def rss_feed(items: list[Spec], built: datetime) -> str:
    entries = []
    for s in items:
        categories = "".join(f"\n      <category>{xml_text(t)}</category>" for t in s.tags)
        creators = "".join(f"\n      <dc:creator>{xml_text(a)}</dc:creator>" for a in s.authors)
        entries.append(f"""    <item>
      <title>{xml_text(s.title)}</title>
      <link>{BASE}{s.path}</link>
      <guid isPermaLink="true">{BASE}{s.path}</guid>
      <pubDate>{format_datetime(s.published_dt)}</pubDate>{creators}{categories}
      <description>{xml_text(description(s))}</description>
    </item>""")
    body = "\n".join(entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{SITE_NAME}</title>
    <link>{BASE}/</link>
    <description>The latest stories from {SITE_NAME}.</description>
    <language>en</language>
    <lastBuildDate>{format_datetime(built)}</lastBuildDate>
    <atom:link href="{BASE}/feeds/rss.xml" rel="self" type="application/rss+xml"/>
{body}
  </channel>
</rss>
"""


def atom_feed(items: list[Spec], updated: datetime) -> str:
    entries = []
    for s in items:
        authors = "".join(f"\n    <author><name>{xml_text(a)}</name></author>"
                          for a in s.authors)
        entries.append(f"""  <entry>
    <title>{xml_text(s.title)}</title>
    <link rel="alternate" type="text/html" href="{BASE}{s.path}"/>
    <id>{BASE}{s.path}</id>
    <published>{s.published}</published>
    <updated>{s.modified or s.published}</updated>{authors}
    <category term="{xml_text(SECTIONS[s.section])}"/>
    <summary>{xml_text(description(s))}</summary>
  </entry>""")
    body = "\n".join(entries)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>{SITE_NAME}</title>
  <subtitle>News, analysis and opinion.</subtitle>
  <link rel="self" type="application/atom+xml" href="{BASE}/feeds/atom.xml"/>
  <link rel="alternate" type="text/html" href="{BASE}/"/>
  <id>{BASE}/</id>
  <updated>{updated.isoformat()}</updated>
{body}
</feed>
"""


def urlset(rows: list[tuple[str, str | None]]) -> str:
    entries = []
    for loc, lastmod in rows:
        lm = f"\n    <lastmod>{lastmod}</lastmod>" if lastmod else ""
        entries.append(f"  <url>\n    <loc>{BASE}{loc}</loc>{lm}\n  </url>")
    body = "\n".join(entries)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">\n{body}\n</urlset>\n')


def news_sitemap(items: list[Spec]) -> str:
    entries = []
    for s in items:
        entries.append(f"""  <url>
    <loc>{BASE}{s.path}</loc>
    <news:news>
      <news:publication>
        <news:name>{SITE_NAME}</news:name>
        <news:language>{s.lang}</news:language>
      </news:publication>
      <news:publication_date>{s.published}</news:publication_date>
      <news:title>{xml_text(s.title)}</news:title>
      <news:keywords>{xml_text(", ".join(s.tags))}</news:keywords>
    </news:news>
  </url>""")
    body = "\n".join(entries)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            'schemas/sitemap/0.9"\n        xmlns:news="http://www.google.com/schemas/'
            f'sitemap-news/0.9">\n{body}\n</urlset>\n')


def sitemap_index(rows: list[tuple[str, str]]) -> str:
    entries = "\n".join(f"  <sitemap>\n    <loc>{BASE}{loc}</loc>\n    <lastmod>{lm}</lastmod>"
                        "\n  </sitemap>" for loc, lm in rows)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="http://www.sitemaps'
            f'.org/schemas/sitemap/0.9">\n{entries}\n</sitemapindex>\n')


# --- reachability -----------------------------------------------------------------------------
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def _links(page_html: str, path: str) -> list[str]:
    parser = _Links()
    parser.feed(page_html)
    out = []
    for href in parser.hrefs:
        url = urljoin("http://site" + path, href.replace(BASE, "http://site"))
        parts = urlsplit(url)
        if parts.scheme == "http" and parts.netloc == "site":
            out.append(parts.path or "/")  # query (tracking) and fragment dropped
    return out


def reachable_by_links(pages: dict[str, str], articles: dict[str, str],
                       redirects: dict[str, tuple[str, int]]) -> set[str]:
    """Article paths a crawler finds from ``/`` following links of non-article pages only."""
    found: set[str] = set()
    seen = {"/"}
    queue = deque([("/", 0)])
    while queue:
        path, depth = queue.popleft()
        hops = 0
        while path in redirects and hops < 5:
            path, hops = redirects[path][0], hops + 1
        if path.startswith(DISALLOWED) or path not in pages:
            continue
        if path in articles:
            found.add(articles[path])
            continue
        if depth >= LINK_DEPTH:
            continue
        for link in _links(pages[path], path):
            if link not in seen:
                seen.add(link)
                queue.append((link, depth + 1))
    return found


# --- the build --------------------------------------------------------------------------------
def _file_for(path: str) -> str:
    return path.lstrip("/") + ("index.html" if path.endswith("/") else "")


def build(out: Path, texts: Path) -> dict[str, Any]:
    specs = sorted(SPECS, key=lambda s: s.published_dt)
    load_texts(specs, texts)
    by_slug = {s.slug: s for s in specs}
    newest = specs[-1]
    roles = {s.role: s for s in specs if s.role}

    # --- discovery lists
    def newest_first(pred: Any, n: int) -> list[Spec]:
        return [s for s in reversed(specs) if pred(s)][:n]

    rss = newest_first(lambda s: s.role in ("", "rss-only"), 15)
    atom = newest_first(lambda s: s.role in ("", "atom-only") and s.slug != rss[0].slug, 12)
    articles_map = [s for s in specs if s.role in ("", "articles-sitemap-only")]
    news = [s for s in specs if s.role in ("", "news-only") and s.published_dt >= NEWS_SINCE]
    redirects = {"/go/latest": (newest.path, 301), "/go/top-story": ("/go/latest", 302)}

    # --- pages
    pages: dict[str, str] = {}
    for i, s in enumerate(specs):
        pool = [r for r in reversed(specs) if r.public and r is not s]
        same = [r for r in pool if r.section == s.section]
        related = (same + [r for r in pool if r not in same])[:3]
        pages[s.path] = article_page(s, i, related)
        if s.amp:
            pages[s.amp_path] = article_page(s, i, related, amp=True)
    pages["/"] = home_page(specs, newest)
    for section in SECTIONS:
        pages[f"/{section}/"] = section_page(section, specs)
    for tag in sorted({t for s in specs for t in s.tags}):
        pages[tag_link(tag)] = tag_page(tag, specs)
    for slug in AUTHORS:
        pages[f"/author/{slug}/"] = author_page(slug, specs)
    pages["/about/"] = about_page()
    pages["/gallery/hong-kong-in-pictures/"] = gallery_page(specs)
    pages["/search/"] = search_page(specs)
    private = private_page()

    # --- who is found how
    article_paths = {s.path: s.path for s in specs} | {s.amp_path: s.path for s in specs
                                                        if s.amp}
    by_links = reachable_by_links(pages, article_paths, redirects)
    sources: dict[str, list[str]] = {s.path: [] for s in specs}
    for name, members in (("links", [by_slug[p.split("/")[-1][:-5]] for p in by_links]),
                          ("rss", rss), ("atom", atom), ("sitemap", articles_map),
                          ("news_sitemap", news)):
        for s in members:
            sources[s.path].append(name)
    expected_only = {"links-only": "links", "articles-sitemap-only": "sitemap",
                     "rss-only": "rss", "atom-only": "atom", "news-only": "news_sitemap"}
    for role, source in expected_only.items():
        assert sources[roles[role].path] == [source], (role, sources[roles[role].path])
    assert all(sources.values()), "every article must be discoverable"
    for s in specs:  # --since tests: a listed date never straddles the cutoff
        cutoff = datetime(2026, 11, 10, tzinfo=UTC)
        assert (s.published_dt < cutoff) == (s.modified_dt < cutoff), s.slug
        assert s.amp is False or "links" in sources[s.path], s.slug

    # --- write everything
    if out.exists():
        for child in out.iterdir():
            if child.name.startswith("LICENSE"):
                continue
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)

    def write(path: str, content: str | bytes) -> None:
        file = out / _file_for(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            file.write_bytes(content)
        else:
            file.write_text(content, encoding="utf-8", newline="\n")

    for path, content in pages.items():
        write(path, content)
    write(f"{DISALLOWED}2026/11/01/secret-draft.html", private)
    write("/static/site.css", CSS)
    write("/static/logo.svg", svg(SITE_NAME, 210))
    for i, s in enumerate(specs):
        write(f"/images/{s.slug}.svg", svg(s.caption[:48], i * 37))
    for i in range(1, 6):
        write(f"/images/gallery-{i}.svg", svg(f"Hong Kong {i}", 20 + i * 50))
    built = max(s.modified_dt for s in specs)
    write("/feeds/rss.xml", rss_feed(rss, built))
    write("/feeds/atom.xml", atom_feed(atom, max(s.modified_dt for s in atom)))
    write("/sitemaps/articles.xml", urlset([(s.path, s.modified or s.published)
                                            for s in reversed(articles_map)]))
    write("/sitemaps/news.xml.gz", gzip.compress(news_sitemap(list(reversed(news))).encode(),
                                                 mtime=0))
    # No sitemap of HTML pages (homepage, sections): the crawler crawls pages listed in a
    # sitemap from depth 0, so every page reachable by links would also be found through the
    # sitemap index, and no article could be "found only by links".
    write("/sitemap.xml", sitemap_index([("/sitemaps/articles.xml", built.isoformat()),
                                         ("/sitemaps/news.xml.gz", built.isoformat())]))
    write("/robots.txt", f"User-agent: *\nDisallow: {DISALLOWED}\n\nSitemap: {BASE}/sitemap.xml\n")
    write("/_routes.json", json.dumps({"redirects": {k: list(v) for k, v in redirects.items()}},
                                      indent=2) + "\n")

    manifest: dict[str, Any] = {
        "site": SITE_NAME,
        "articles": [{
            "path": s.path,
            "title": s.title,
            "published": s.published,
            "modified": s.modified or s.published,
            "authors": s.authors,
            "section": SECTIONS[s.section],
            "tags": s.tags,
            "language": s.lang,
            "first_paragraph": s.paragraphs[0],
            "last_paragraph": s.paragraphs[-1],
            "caption": s.caption,
            "credit": s.credit,
            "alt_paths": [s.amp_path] if s.amp else [],
            "sources": sources[s.path],
        } for s in reversed(specs)],
        "non_articles": sorted(p for p in pages if p not in article_paths),
        "disallowed": [DISALLOWED],
        "redirects": {k: list(v) for k, v in redirects.items()},
        "missing": [MISSING],
        "feeds": {"rss": "/feeds/rss.xml", "atom": "/feeds/atom.xml"},
        "sitemap_index": "/sitemap.xml",
        "sitemaps": ["/sitemaps/articles.xml", "/sitemaps/news.xml.gz"],
        "robots": "/robots.txt",
    }
    write("/manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS,
                        help="the benchmark's ground-truth.json")
    parser.add_argument("--out", type=Path, default=HERE / "site", help="output directory")
    args = parser.parse_args(argv)
    manifest = build(args.out, args.texts)
    counts: dict[str, int] = {}
    for article in manifest["articles"]:
        for source in article["sources"]:
            counts[source] = counts.get(source, 0) + 1
    print(f"{len(manifest['articles'])} articles written to {args.out}; by source: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
