"""Article-body extraction benchmark: plain trafilatura against the newsarchive extractor.

Run with ``python -m bench.extract`` (``make bench-extract``). The data is the DEV subset of
scrapinghub/article-extraction-benchmark (see its README.md): ``html/<id>.html.gz`` and
``ground-truth.json``. The metric is the upstream one (``evaluate.py``):

* tokens are ``\\w+`` matches, case kept; shingles are word 4-grams; a text of 1-3 tokens gives
  one shingle made of all its tokens, an empty text gives none;
* per page, the shingle multisets give tp/fp/fn, normalised to sum to 1;
* precision is the mean over pages with a non-empty output, recall the mean over all pages,
  F1 = 2PR/(P+R), accuracy the share of pages whose token sequence equals the truth's.

Systems (all on the same decoded HTML, in the same run):

* ``baseline``: ``trafilatura.extract(html, url=url)`` with its defaults;
* ``newsarchive``: ``pipelines.extract.extract_article(html, url).text``;
* ``cleaned``: ``trafilatura.bare_extraction`` text passed through
  ``pipelines.cleaning.clean_text`` (a development aid; ``--cleaned-option`` changes its
  trafilatura options).

Speed is pages per CPU second (``time.process_time``) spent inside the extraction call only.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import os
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import trafilatura
from trafilatura.utils import load_html

__all__ = [
    "Page",
    "PageScore",
    "SystemResult",
    "load_pages",
    "main",
    "score_page",
    "shingles",
    "tokenize",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ENV = "NEWSARCHIVE_EXTRACT_BENCH_DIR"
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "benchmarks" / "article-extraction"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
SYSTEMS = ("baseline", "newsarchive", "cleaned")
NGRAM = 4

# Options of the ``cleaned`` system's ``bare_extraction`` call; ``--cleaned-option`` overrides.
CLEANED_OPTIONS: dict[str, bool] = {
    "with_metadata": True,
    "include_comments": False,
    "include_tables": True,
    "favor_precision": False,
    "favor_recall": False,
    "deduplicate": False,
    "fast": False,
}

_TOKEN = re.compile(r"\w+")


class BenchError(Exception):
    """The benchmark cannot run (missing data, missing system); the message says why."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Page:
    page_id: str
    url: str
    html: str
    truth: str


def data_dir_from_env() -> Path:
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else DEFAULT_DATA_DIR


def load_pages(data_dir: Path, limit: int | None = None) -> list[Page]:
    """Read the ground truth and the gzipped pages (utf-8), sorted by page id."""
    truth_path = data_dir / "ground-truth.json"
    if not truth_path.is_file():
        raise BenchError(
            f"article-extraction benchmark data not found: {truth_path} does not exist "
            f"(set ${DATA_ENV} or pass --data-dir)"
        )
    truth: dict[str, dict[str, str]] = json.loads(truth_path.read_text(encoding="utf-8"))
    pages: list[Page] = []
    for page_id in sorted(truth)[:limit]:
        html_path = data_dir / "html" / f"{page_id}.html.gz"
        if not html_path.is_file():
            raise BenchError(f"benchmark page missing: {html_path}")
        html = gzip.decompress(html_path.read_bytes()).decode("utf-8", errors="replace")
        entry = truth[page_id]
        pages.append(Page(page_id, entry.get("url", ""), html, entry.get("articleBody", "")))
    return pages


# --------------------------------------------------------------------------- metric


def tokenize(text: str | None) -> list[str]:
    return _TOKEN.findall(text or "")


def shingles(tokens: Sequence[str], n: int = NGRAM) -> Counter[tuple[str, ...]]:
    """Word n-gram multiset; like upstream, 1..n-1 tokens give a single shorter shingle."""
    result: Counter[tuple[str, ...]] = Counter()
    for i in range(max(1, len(tokens) - n + 1)):
        shingle = tuple(tokens[i : i + n])
        if shingle:
            result[shingle] += 1
    return result


@dataclass
class PageScore:
    tp: float
    fp: float
    fn: float
    exact: bool

    @property
    def has_output(self) -> bool:
        return self.tp + self.fp > 0

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        if self.tp == self.fp == 0:
            return 0.0
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        if self.tp == self.fn == 0:
            return 0.0
        return self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_page(truth: str, pred: str) -> PageScore:
    true_tokens, pred_tokens = tokenize(truth), tokenize(pred)
    true_sh, pred_sh = shingles(true_tokens), shingles(pred_tokens)
    tp = fp = fn = 0.0
    for key in true_sh.keys() | pred_sh.keys():
        t, p = true_sh.get(key, 0), pred_sh.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    if total > 0:
        tp, fp, fn = tp / total, fp / total, fn / total
    return PageScore(tp, fp, fn, true_tokens == pred_tokens)


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


# --------------------------------------------------------------------------- systems

Extractor = Callable[[str, str], str]


def _baseline() -> Extractor:
    def run(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url) or ""

    return run


def _import(module: str, system: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name in {"pipelines", module}:
            raise BenchError(
                f"system {system!r} needs {module.replace('.', '/')}.py, which does not exist "
                "yet; run with --system baseline --system cleaned meanwhile"
            ) from exc
        raise BenchError(f"system {system!r}: importing {module} failed: {exc}") from exc
    except ImportError as exc:
        raise BenchError(f"system {system!r}: importing {module} failed: {exc}") from exc


def _newsarchive() -> Extractor:
    module = _import("pipelines.extract", "newsarchive")
    extract_article = getattr(module, "extract_article", None)
    if extract_article is None:
        raise BenchError("pipelines.extract has no extract_article(html, url)")

    def run(html: str, url: str) -> str:
        article = extract_article(html, url)
        return (getattr(article, "text", None) or "") if article is not None else ""

    return run


def _caption_texts(tree: Any) -> list[str]:
    texts: list[str] = []
    for node in tree.iter("figcaption", "caption"):
        text = " ".join(node.text_content().split())
        if text:
            texts.append(text)
    return texts


def _cleaned(options: dict[str, bool]) -> Extractor:
    clean_text = _import("pipelines.cleaning", "cleaned").clean_text
    kwargs: dict[str, Any] = dict(options)
    def run(html: str, url: str) -> str:
        tree = load_html(html)
        if tree is None:
            return ""
        captions = _caption_texts(tree)  # read before trafilatura prunes the tree in place
        doc = trafilatura.bare_extraction(tree, url=url, **kwargs)
        if doc is None or isinstance(doc, dict):
            return ""
        authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
        return clean_text(doc.text or "", title=doc.title, authors=authors, captions=captions)

    return run


def make_system(name: str, cleaned_options: dict[str, bool]) -> Extractor:
    if name == "baseline":
        return _baseline()
    if name == "newsarchive":
        return _newsarchive()
    if name == "cleaned":
        return _cleaned(cleaned_options)
    raise BenchError(f"unknown system {name!r}")


# --------------------------------------------------------------------------- running


@dataclass
class SystemResult:
    name: str
    outputs: dict[str, str] = field(default_factory=dict)
    scores: dict[str, PageScore] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def pages(self) -> int:
        return len(self.scores)

    @property
    def precision(self) -> float:
        return _mean(s.precision for s in self.scores.values() if s.has_output)

    @property
    def recall(self) -> float:
        return _mean(s.recall for s in self.scores.values())

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy(self) -> float:
        return _mean(float(s.exact) for s in self.scores.values())

    @property
    def pages_per_cpu_second(self) -> float:
        return self.pages / self.cpu_seconds if self.cpu_seconds else 0.0

    def summary(self) -> dict[str, float | int | str]:
        return {
            "system": self.name,
            "pages": self.pages,
            "pages_with_output": sum(s.has_output for s in self.scores.values()),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "accuracy": self.accuracy,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "pages_per_cpu_second": self.pages_per_cpu_second,
        }


WARMUP_PAGES = 3


def run_system(name: str, extractor: Extractor, pages: Sequence[Page]) -> SystemResult:
    """Extract every page; the first pages are run once untimed so lazy imports don't count."""
    result = SystemResult(name)
    for page in pages[:WARMUP_PAGES]:
        extractor(page.html, page.url)
    for page in pages:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        output = extractor(page.html, page.url)
        result.cpu_seconds += time.process_time() - cpu0
        result.wall_seconds += time.perf_counter() - wall0
        result.outputs[page.page_id] = output
        result.scores[page.page_id] = score_page(page.truth, output)
    return result


# --------------------------------------------------------------------------- reporting


def _line_is_covered(line_tokens: Sequence[str], other_joined: str, other_sh: Counter[Any]) -> bool:
    """Whether most of a line's text also occurs in the other text."""
    if len(line_tokens) < NGRAM:
        return f" {' '.join(line_tokens)} " in other_joined
    line_sh = shingles(line_tokens)
    hits = sum(1 for sh in line_sh if sh in other_sh)
    return hits >= len(line_sh) / 2


def diff_lines(source: str, other: str) -> list[str]:
    """Lines of ``source`` whose text is mostly absent from ``other``."""
    other_tokens = tokenize(other)
    other_joined = f" {' '.join(other_tokens)} "
    other_sh = shingles(other_tokens)
    lines = []
    for line in source.splitlines():
        tokens = tokenize(line)
        if tokens and not _line_is_covered(tokens, other_joined, other_sh):
            lines.append(line.strip())
    return lines


def diff_spans(source: str, other: str, min_tokens: int = 3) -> list[str]:
    """Runs of ``source`` tokens that are not part of any shingle of ``other``."""
    tokens = tokenize(source)
    other_sh = shingles(tokenize(other))
    covered = [False] * len(tokens)
    for i in range(max(0, len(tokens) - NGRAM + 1)):
        if tuple(tokens[i : i + NGRAM]) in other_sh:
            covered[i : i + NGRAM] = [True] * NGRAM
    spans: list[str] = []
    run: list[str] = []
    for token, hit in [*zip(tokens, covered, strict=True), ("", True)]:
        if hit:
            if len(run) >= min_tokens:
                spans.append(" ".join(run))
            run = []
        else:
            run.append(token)
    return spans


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(results: Sequence[SystemResult]) -> str:
    head = f"{'system':<12} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6} {'acc':>6} {'pages/s':>8}"
    rows = [head, "-" * len(head)]
    for r in results:
        rows.append(
            f"{r.name:<12} {r.pages:>5} {r.precision:>6.3f} {r.recall:>6.3f} {r.f1:>6.3f} "
            f"{r.accuracy:>6.3f} {r.pages_per_cpu_second:>8.1f}"
        )
    rows.append(
        "pages/s = pages / CPU seconds (time.process_time) inside the extraction call, "
        f"after {WARMUP_PAGES} untimed warm-up pages"
    )
    return "\n".join(rows)


def format_deltas(base: SystemResult, other: SystemResult) -> str:
    speed = (
        other.pages_per_cpu_second / base.pages_per_cpu_second
        if base.pages_per_cpu_second
        else 0.0
    )
    return (
        f"{other.name} - {base.name}: P {other.precision - base.precision:+.3f}  "
        f"R {other.recall - base.recall:+.3f}  F1 {other.f1 - base.f1:+.3f}  "
        f"acc {other.accuracy - base.accuracy:+.3f}  speed x{speed:.2f}"
    )


def worst_pages(
    result: SystemResult, pages: Sequence[Page], n: int, samples: int = 3, width: int = 90
) -> str:
    by_id = {p.page_id: p for p in pages}
    ranked = sorted(result.scores.items(), key=lambda kv: (kv[1].f1, kv[0]))[:n]
    out = [f"{n} worst pages of {result.name} by F1:"]
    for page_id, score in ranked:
        truth, pred = by_id[page_id].truth, result.outputs[page_id]
        out.append(
            f"  {page_id[:10]}  F1 {score.f1:.3f}  P {score.precision:.3f}  "
            f"R {score.recall:.3f}  {by_id[page_id].url}"
        )
        extra, missing = diff_lines(pred, truth), diff_lines(truth, pred)
        if not extra and not missing:  # the differences are inside lines
            extra, missing = diff_spans(pred, truth), diff_spans(truth, pred)
        for label, lines in (("extra", extra), ("missing", missing)):
            for line in lines[:samples]:
                out.append(f"      {label:<7} | {_short(line, width)}")
            if len(lines) > samples:
                out.append(f"      {label:<7} | … {len(lines) - samples} more lines")
    return "\n".join(out)


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in ("trafilatura", "lxml"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "missing"
    return found


def write_json(
    path: Path,
    results: Sequence[SystemResult],
    base: SystemResult | None,
    data_dir: Path,
    cleaned_options: dict[str, bool],
) -> None:
    deltas: dict[str, dict[str, float]] = {}
    if base is not None:
        for r in results:
            if r is base:
                continue
            deltas[f"{r.name}-{base.name}"] = {
                "precision": r.precision - base.precision,
                "recall": r.recall - base.recall,
                "f1": r.f1 - base.f1,
                "accuracy": r.accuracy - base.accuracy,
                "speed_ratio": (
                    r.pages_per_cpu_second / base.pages_per_cpu_second
                    if base.pages_per_cpu_second
                    else 0.0
                ),
            }
    payload = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_dir": str(data_dir),
        "metric": "upstream scrapinghub/article-extraction-benchmark, word 4-gram shingles",
        "speed_unit": "pages per CPU second (time.process_time) of extraction only",
        "versions": _versions(),
        "cleaned_options": cleaned_options,
        "systems": {r.name: r.summary() for r in results},
        "deltas": deltas,
        "pages": {
            r.name: {
                pid: {**asdict(s), "precision": s.precision, "recall": s.recall, "f1": s.f1}
                for pid, s in r.scores.items()
            }
            for r in results
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _parse_option(text: str) -> tuple[str, bool]:
    key, sep, value = text.partition("=")
    if not sep or key not in CLEANED_OPTIONS:
        raise argparse.ArgumentTypeError(
            f"expected NAME=true|false with NAME in {sorted(CLEANED_OPTIONS)}, got {text!r}"
        )
    if value.lower() not in {"1", "0", "true", "false", "yes", "no"}:
        raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")
    return key, value.lower() in {"1", "true", "yes"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.extract", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help=f"benchmark directory (default: ${DATA_ENV} or {DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--system", action="append", choices=SYSTEMS, default=None,
        help="system to run (repeatable; default: all). baseline is always run",
    )
    parser.add_argument("--worst", type=int, default=10, help="show the N worst pages (0: none)")
    parser.add_argument(
        "--worst-of", choices=SYSTEMS, default=None,
        help="system whose worst pages are shown (default: newsarchive, else cleaned)",
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write all figures")
    parser.add_argument("--no-json", action="store_true", help="do not write the JSON file")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages")
    parser.add_argument(
        "--cleaned-option", action="append", type=_parse_option, default=[], metavar="NAME=BOOL",
        help="trafilatura option of the cleaned system, e.g. favor_precision=true",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir: Path = args.data_dir or data_dir_from_env()
    names: list[str] = ["baseline"]
    for name in args.system or SYSTEMS:
        if name not in names:
            names.append(name)
    cleaned_options = {**CLEANED_OPTIONS, **dict(args.cleaned_option)}
    try:
        pages = load_pages(data_dir, args.limit)
        extractors = {name: make_system(name, cleaned_options) for name in names}
    except BenchError as exc:
        print(f"bench.extract: error: {exc}", file=sys.stderr)
        return 2

    print(f"{len(pages)} pages from {data_dir}")
    if "cleaned" in names:
        opts = ", ".join(f"{k}={v}" for k, v in cleaned_options.items())
        print(f"cleaned = bare_extraction({opts}) + clean_text")
    results = [run_system(name, extractors[name], pages) for name in names]
    by_name = {r.name: r for r in results}
    base = by_name["baseline"]
    print()
    print(format_table(results))
    print()
    for r in results:
        if r is not base:
            print(format_deltas(base, r))

    worst_of = args.worst_of or ("newsarchive" if "newsarchive" in by_name else names[-1])
    if args.worst > 0 and worst_of in by_name:
        print()
        print(worst_pages(by_name[worst_of], pages, args.worst))

    if not args.no_json:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        json_path: Path = args.json or RESULTS_DIR / f"extract-{stamp}.json"
        write_json(json_path, results, base, data_dir, cleaned_options)
        print(f"\nfigures written to {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
