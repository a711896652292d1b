"""Crawl benchmark: newsarchive against its own ceilings and plain baselines, one local site.

``python -m bench.crawl [--pages 5000] [--runs 3] [--quick]`` builds a local news site
(``bench/site.py``: real article pages served under many URLs, sections, feed, sitemaps),
serves it on 127.0.0.1 (nginx when installed, else a multi-process Python server) and
measures, each in its own subprocess:

1. ``fetch-only``: Scrapy's ceiling, a bare spider (``bench/fetchonly.py``) fetching the same
   URLs with the crawl's settings, no extraction, no archive;
2. ``extract-1`` / ``extract-N``: ``extract_article`` over the site's pages, no network, in
   one process and in a pool of N = os.cpu_count() processes;
3. ``newsarchive``: ``newsarchive crawl`` end to end (fetch + WARC + extraction + text), and
   ``archive-only`` (``-s TRAFILATURA_ENABLED=False``: fetch + WARC);
4. ``wget`` (``--recursive --warc-file``) and ``trafilatura --sitemap``, when installed;

then ``newsarchive`` once on a site of 1,000 and one of 10,000 pages for memory growth.

Pages/s counts the distinct article pages the server answered with 200 during the run (its
access log), over the wall time of the whole process (startup and shutdown included); for
extraction, pages over the time of the extraction loop once the workers are warm. CPU % is
user + system time of the process and its children over wall time (200 % = two cores).
Peak RSS is the highest sum of RSS over the process tree, sampled every 0.1 s (``maxrss`` is
the kernel's peak of the largest single process). Figures are medians over the runs; runs
of the different systems are interleaved so that a change in machine load hits them alike.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.site import (
    ARTICLE_PREFIX,
    REPO_ROOT,
    SiteInfo,
    build_site,
    free_port,
    load_templates,
    process_tree,
    start_server,
)

RESULTS_DIR = REPO_ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
POLITENESS_OFF = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
                  "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
                  # the benchmark site is on loopback, refused by default (EGRESS_ALLOW)
                  "-s", "EGRESS_ALLOW=127.0.0.1/32"]
DEPTH = "1000"
TARGETS = {
    "end_to_end / extraction_ceiling_N": (">=", 0.85),
    "archive_only / fetch_only": (">=", 0.80),
    "rss_large / rss_small": ("<=", 1.25),
    "archive_only / wget": (">", 1.0),
    "end_to_end / trafilatura_cli": (">", 1.0),
}
_PAGE = os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    peak_rss_mb: float
    maxrss_mb: float
    returncode: int
    peak_pss_mb: float = 0.0
    pages: int = 0              # distinct article pages answered 200 (or extracted)
    requests: int = 0           # all requests the server saw
    errors: int = 0             # non-2xx/3xx answers
    server_cpu: float = 0.0
    seconds: float = 0.0        # the time pages/s is computed over
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    @property
    def cpu_pct(self) -> float:
        return 100 * self.cpu / self.wall if self.wall else 0.0

    @property
    def server_cpu_pct(self) -> float:
        return 100 * self.server_cpu / self.wall if self.wall else 0.0

    @property
    def cpu_ms_per_page(self) -> float:
        """CPU of the whole process tree per page: unlike pages/s, barely moved by other
        load on the machine."""
        return 1000 * self.cpu / self.pages if self.pages else 0.0

    def summary(self) -> dict[str, Any]:
        return {**asdict(self), "pages_per_s": round(self.pages_per_s, 2),
                "cpu_ms_per_page": round(self.cpu_ms_per_page, 2),
                "cpu_pct": round(self.cpu_pct, 1),
                "server_cpu_pct": round(self.server_cpu_pct, 1)}


def _tree_rss(pid: int) -> tuple[int, int]:
    """RSS summed over the process tree, and PSS (shared pages counted once: a forkserver
    and its workers share their imported modules)."""
    rss = pss = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            rss += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * _PAGE
        with contextlib.suppress(OSError, IndexError, ValueError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                    break
    return rss, pss


def measure(name: str, cmd: Sequence[str], *, server: Any = None, cwd: Path | None = None,
            log: Path | None = None) -> Run:
    """Run ``cmd``; wall, CPU (rusage of the child and its reaped children), peak tree RSS."""
    offset = server.log_offset() if server else 0
    server_cpu0 = server.cpu_seconds() if server else 0.0
    out = log.open("wb") if log else subprocess.DEVNULL
    started = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=cwd or REPO_ROOT, stdout=subprocess.PIPE,
                            stderr=out)
    peak = peak_pss = 0
    done = threading.Event()
    tree_cpu: dict[int, float] = {}  # last CPU seconds seen per descendant

    def sample() -> None:
        # CPU of descendants nobody waits for (a multiprocessing forkserver's workers)
        # escapes wait4's rusage: the sampled per-process CPU is kept as a floor.
        nonlocal peak, peak_pss
        while not done.is_set():
            rss, pss = _tree_rss(proc.pid)
            peak, peak_pss = max(peak, rss), max(peak_pss, pss)
            for pid in process_tree(proc.pid):
                tree_cpu[pid] = max(tree_cpu.get(pid, 0.0), _proc_cpu([pid]))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    try:
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM): the measured process must not outlive the bench
        proc.terminate()
        proc.wait(30)
        raise
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if log:
        out.close()  # type: ignore[union-attr]
    run = Run(name=name, wall=wall,
              cpu=max(usage.ru_utime + usage.ru_stime, sum(tree_cpu.values())),
              peak_rss_mb=peak / 2**20, maxrss_mb=usage.ru_maxrss / 1024,
              returncode=proc.returncode, seconds=wall, peak_pss_mb=peak_pss / 2**20)
    if server:
        time.sleep(0.05)  # the last log lines
        entries = server.log_lines(offset)
        run.requests = len(entries)
        run.errors = sum(1 for s, _, _ in entries if s >= 400)
        run.pages = len({p for s, p, _ in entries if s == 200 and p.startswith(ARTICLE_PREFIX)})
        run.server_cpu = server.cpu_seconds() - server_cpu0
    for line in stdout.decode("utf-8", "replace").splitlines()[::-1]:
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                run.extra = json.loads(line)
                break
    return run


# --------------------------------------------------------------------------- extraction


_site: SiteInfo | None = None


def _warm(site_root: str) -> None:
    global _site  # noqa: PLW0603
    from bench.site import iter_article_html  # noqa: PLC0415
    from pipelines.extract import extract_article  # noqa: PLC0415

    _site = SiteInfo.load(Path(site_root))
    for url, html in iter_article_html(_site, [0]):
        extract_article(html, url)


def _pool_init(site_root: str, ready: Any) -> None:
    _warm(site_root)
    ready.put(os.getpid())


def _extract_one(n: int) -> int:
    from bench.site import iter_article_html  # noqa: PLC0415
    from pipelines.extract import extract_article  # noqa: PLC0415

    assert _site is not None
    for url, html in iter_article_html(_site, [n]):
        return len(extract_article(html, url).text or "")
    return 0


def _proc_cpu(pids: Sequence[int]) -> float:
    from bench.site import _proc_cpu_seconds  # noqa: PLC0415

    return sum(_proc_cpu_seconds(p) for p in pids)


def extract_main(site_root: str, procs: int, sample: int) -> None:
    """Child process: extract ``sample`` pages of the site in ``procs`` processes, print JSON."""
    import multiprocessing  # noqa: PLC0415

    info = SiteInfo.load(Path(site_root))
    indexes = list(range(min(sample, info.pages)))
    if procs <= 1:
        _warm(site_root)
        pids = [os.getpid()]
        cpu0, t0 = _proc_cpu(pids), time.perf_counter()
        texts = sum(1 for n in indexes if _extract_one(n))
        seconds, cpu = time.perf_counter() - t0, _proc_cpu(pids) - cpu0
    else:
        ctx = multiprocessing.get_context("fork")
        ready = ctx.SimpleQueue()
        with ctx.Pool(procs, initializer=_pool_init, initargs=(site_root, ready)) as pool:
            pids = [ready.get() for _ in range(procs)]
            cpu0, t0 = _proc_cpu(pids), time.perf_counter()
            texts = sum(1 for size in pool.imap_unordered(_extract_one, indexes, chunksize=4)
                        if size)
            seconds, cpu = time.perf_counter() - t0, _proc_cpu(pids) - cpu0
    print(json.dumps({"pages": len(indexes), "with_text": texts, "seconds": seconds,
                      "loop_cpu": cpu, "procs": procs}), flush=True)


# --------------------------------------------------------------------------- systems


def _count_jsonl(directory: Path) -> int:
    count = 0
    for path in directory.rglob("*.jsonl.gz"):
        with contextlib.suppress(OSError, EOFError), gzip.open(path, "rb") as f:
            count += sum(1 for _ in f)
    return count


def _dir_bytes(directory: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in directory.rglob(pattern) if p.is_file())


def _wget_cmd(base: str, out: Path) -> list[str] | None:
    wget = shutil.which("wget")
    if not wget:
        return None
    help_text = subprocess.run([wget, "--help"], capture_output=True, text=True,
                               check=False).stdout
    cmd = [wget, "--recursive", "--level=inf", "--no-parent", "--no-verbose",
           f"--warc-file={out / 'crawl'}", f"--directory-prefix={out / 'files'}",
           "--user-agent=newsarchive-bench-wget"]
    if "--compression" in help_text:
        cmd.append("--compression=auto")  # accept gzip like the other crawlers
    return [*cmd, base + "/"]


def _trafilatura_config(work: Path) -> Path:
    import trafilatura  # noqa: PLC0415

    text = (Path(trafilatura.__file__).parent / "settings.cfg").read_text(encoding="utf-8")
    lines = []
    overrides = {
        "SSRF_PROTECTION": "SSRF_PROTECTION = off",  # our server is on 127.0.0.1
        "SLEEP_TIME": "SLEEP_TIME = 0",  # a local server deserves no politeness (as the others)
    }
    for line in text.splitlines():
        lines.append(overrides.get(line.split("=")[0].strip(), line))
    path = work / "trafilatura.cfg"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class System:
    name: str
    build: Callable[[Path], list[str] | None]   # command, given a fresh output directory
    after: Callable[[Run, Path], None] | None = None
    site: str = "main"                          # which copy of the site it crawls


def _newsarchive_after(run: Run, out: Path) -> None:
    run.extra["articles_written"] = _count_jsonl(out / "articles")
    run.extra["warc_mb"] = round(_dir_bytes(out, "*.warc.gz") / 2**20, 1)
    # the run report's reactor lag: how long the event loop was kept from running
    for path in out.glob("reports/**/report-*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        lag = report.get("reactor_lag_ms") or {}
        run.extra["lag_max_ms"], run.extra["lag_mean_ms"] = lag.get("max"), lag.get("mean")
        run.extra["stalls"] = report.get("reactor_stalls")


def _wget_after(run: Run, out: Path) -> None:
    run.extra["warc_mb"] = round(_dir_bytes(out, "*.warc.gz") / 2**20, 1)
    run.extra["ok"] = run.returncode in (0, 8)  # 8: some 404 (a template's missing link)


def _trafilatura_after(run: Run, out: Path) -> None:
    run.extra["files_written"] = sum(1 for p in (out / "out").rglob("*") if p.is_file())


def crawl_systems(base: str, work: Path, trafilatura_base: str | None) -> list[System]:
    newsarchive = str(VENV_BIN / "newsarchive")
    crawl = [newsarchive, "crawl", base + "/", "--depth", DEPTH, *POLITENESS_OFF]
    systems = [
        System("fetch-only", lambda out: [sys.executable, "-m", "bench.fetchonly", base + "/"]),
        System("newsarchive", lambda out: [*crawl, "-o", str(out)], _newsarchive_after),
        System("archive-only",
               lambda out: [*crawl, "-o", str(out), "-s", "TRAFILATURA_ENABLED=False"],
               _newsarchive_after),
        System("wget", lambda out: _wget_cmd(base, out), _wget_after),
    ]
    if trafilatura_base:
        config = _trafilatura_config(work)
        # Two steps, timed together: ``--sitemap URL --list`` then ``-i LIST -o DIR``.
        # trafilatura 2.3.1's one-step ``--sitemap URL -o DIR`` re-downloads its input URL
        # in a loop on this site (seen with SLEEP_TIME 0 and 0.01) and never finishes.
        def trafilatura_cmd(out: Path) -> list[str]:
            shim = f"{shlex.quote(sys.executable)} -m bench.trafilatura_shim"
            cfg = f"--config-file {shlex.quote(str(config))}"
            urls = shlex.quote(str(out / "urls.txt"))
            return ["sh", "-c",
                    f"{shim} --sitemap {trafilatura_base}/ --list {cfg} > {urls} && "
                    f"{shim} -i {urls} -o {shlex.quote(str(out / 'out'))} {cfg}"]

        systems.append(System("trafilatura-cli", trafilatura_cmd, _trafilatura_after,
                              site="trafilatura"))
    return systems


def _has_trafilatura() -> bool:
    import importlib.util  # noqa: PLC0415

    return importlib.util.find_spec("trafilatura") is not None


# --------------------------------------------------------------------------- reporting


def median_run(runs: list[Run]) -> dict[str, Any]:
    ok = [r for r in runs if r.pages]
    if not ok:
        return {"runs": [r.summary() for r in runs], "pages_per_s": 0.0}
    return {
        "pages_per_s": round(statistics.median(r.pages_per_s for r in ok), 2),
        "cpu_pct": round(statistics.median(r.cpu_pct for r in ok), 1),
        "cpu_ms_per_page": round(statistics.median(r.cpu_ms_per_page for r in ok), 2),
        "peak_rss_mb": round(statistics.median(r.peak_rss_mb for r in ok), 1),
        "peak_pss_mb": round(statistics.median(r.peak_pss_mb for r in ok), 1),
        "maxrss_mb": round(statistics.median(r.maxrss_mb for r in ok), 1),
        "server_cpu_pct": round(statistics.median(r.server_cpu_pct for r in ok), 1),
        "pages": statistics.median(r.pages for r in ok),
        "runs": [r.summary() for r in runs],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def _verdict(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    op, target = TARGETS[name]
    ok = {">=": value >= target, "<=": value <= target, ">": value > target}[op]
    return "PASS" if ok else "FAIL"


def print_table(results: dict[str, dict[str, Any]], ratios: dict[str, Any]) -> None:
    print(f"\n{'system':<18}{'pages/s':>9}{'CPU %':>8}{'CPU ms/page':>12}{'peak RSS MB':>13}"
          f"{'peak PSS MB':>13}{'max proc MB':>13}{'server CPU %':>14}{'pages':>8}")
    for name, r in results.items():
        if "pages_per_s" not in r or not r.get("cpu_pct"):
            print(f"{name:<18}{'failed or skipped':>9}  {r.get('note', '')}")
            continue
        print(f"{name:<18}{r['pages_per_s']:>9.1f}{r['cpu_pct']:>8.0f}"
              f"{r.get('cpu_ms_per_page', 0):>12.1f}{r['peak_rss_mb']:>13.0f}"
              f"{r.get('peak_pss_mb', 0):>13.0f}{r['maxrss_mb']:>13.0f}"
              f"{r['server_cpu_pct']:>14.1f}{r['pages']:>8.0f}")
    print()
    for name, value in ratios.items():
        op, target = TARGETS[name]
        shown = "n/a" if value is None else f"{value:.3f}"
        print(f"{name:<36}{shown:>8}   target {op} {target:<5} {_verdict(name, value)}")


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    out = {"python": platform.python_version()}
    for pkg in ("scrapy", "trafilatura", "warcio", "lxml", "twisted"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    for tool, flag in (("wget", "--version"), ("nginx", "-v")):
        if shutil.which(tool):
            proc = subprocess.run([tool, flag], capture_output=True, text=True, check=False)
            out[tool] = (proc.stdout or proc.stderr).splitlines()[0] if (
                proc.stdout or proc.stderr) else "?"
    git = shutil.which("git")
    with contextlib.suppress(OSError, subprocess.SubprocessError, TypeError):
        head = subprocess.run([git, "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=False).stdout.strip()
        dirty = subprocess.run([git, "status", "--porcelain", "--", "crawler", "pipelines"],
                               cwd=REPO_ROOT, capture_output=True, text=True,
                               check=False).stdout.strip()
        out["git"] = head + ("+dirty" if dirty else "")
    return out


# --------------------------------------------------------------------------- main


def _site(work: Path, name: str, pages: int, templates: Any,
          host: str = "127.0.0.1") -> SiteInfo:
    port = free_port()
    started = time.perf_counter()
    info = build_site(work / name / "www", pages, f"http://{host}:{port}",
                      templates=templates)
    print(f"  site {name}: {pages} articles, {info.section_pages} section pages, "
          f"{len(info.sitemaps)} sitemaps, built in {time.perf_counter() - started:.1f}s",
          flush=True)
    return info


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    cpus = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="newsarchive-bench-", dir=args.tmp))
    work.chmod(0o755)  # nginx workers may run as another user
    print(f"work directory {work}", flush=True)
    templates = load_templates()
    main_site = _site(work, "main", args.pages, templates)
    results: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[Run]] = {}
    logs = work / "logs"
    logs.mkdir()
    server_kind = "?"
    try:
        def wanted(name: str) -> bool:
            return args.only is None or name in args.only

        sites = {"main": main_site}
        if wanted("trafilatura-cli") and _has_trafilatura():
            # courlan refuses IP hosts: trafilatura gets a copy named news.localhost
            sites["trafilatura"] = _site(work, "trafilatura", args.pages, templates,
                                         host="news.localhost")
        with contextlib.ExitStack() as stack:
            servers = {name: stack.enter_context(start_server(
                info.root, int(info.base_url.rsplit(":", 1)[1]), args.server))
                for name, info in sites.items()}
            server_kind = servers["main"].kind
            tbase = sites["trafilatura"].base_url if "trafilatura" in sites else None
            systems = [s for s in crawl_systems(main_site.base_url, work, tbase)
                       if wanted(s.name)]
            extract_sets = [p for p in (1, cpus) if args.only is None
                            or f"extract-{'1' if p == 1 else 'N'}" in args.only]
            if cpus == 1:
                extract_sets = extract_sets[:1]
            for r in range(args.runs):
                for system in systems:
                    out = work / "out" / f"{system.name}-{r}"
                    out.mkdir(parents=True)
                    cmd = system.build(out)
                    if cmd is None:
                        results[system.name] = {"note": "not installed"}
                        continue
                    run = measure(system.name, cmd, server=servers[system.site],
                                  log=logs / f"{system.name}-{r}.log")
                    if system.after:
                        system.after(run, out)
                    runs.setdefault(system.name, []).append(run)
                    print(f"  run {r + 1}/{args.runs} {system.name:<16} "
                          f"{run.pages_per_s:7.1f} pages/s  {run.pages} pages in "
                          f"{run.wall:.1f}s  CPU {run.cpu_pct:.0f}%  "
                          f"RSS {run.peak_rss_mb:.0f} MB  server CPU "
                          f"{run.server_cpu_pct:.1f}%  rc {run.returncode}"
                          f"  {json.dumps(run.extra) if run.extra else ''}", flush=True)
                    if not args.keep:
                        shutil.rmtree(out, ignore_errors=True)
                for procs in extract_sets:
                    name = "extract-1" if procs == 1 else "extract-N"
                    run = measure(name, [sys.executable, "-m", "bench.crawl", "_extract",
                                         str(main_site.root), str(procs),
                                         str(args.extract_pages)])
                    run.pages = int(run.extra.get("pages", 0))
                    run.seconds = float(run.extra.get("seconds", 0.0))
                    run.extra["loop_cpu_pct"] = round(
                        100 * run.extra.get("loop_cpu", 0.0) / (run.seconds or 1), 1)
                    runs.setdefault(name, []).append(run)
                    print(f"  run {r + 1}/{args.runs} {name:<16} {run.pages_per_s:7.1f} "
                          f"pages/s  {run.pages} pages in {run.seconds:.1f}s (process "
                          f"{run.wall:.1f}s)  loop CPU {run.extra['loop_cpu_pct']:.0f}%  "
                          f"RSS {run.peak_rss_mb:.0f} MB", flush=True)
        for name, rs in runs.items():
            results[name] = median_run(rs)
        for name in ("extract-1", "extract-N"):
            if name in results and results[name].get("runs"):
                results[name]["cpu_pct"] = statistics.median(
                    r["extra"]["loop_cpu_pct"] for r in results[name]["runs"])
                results[name]["cpu_ms_per_page"] = round(statistics.median(
                    1000 * r["extra"].get("loop_cpu", 0.0) / (r["pages"] or 1)
                    for r in results[name]["runs"]), 2)

        # memory growth: newsarchive on a small and on a large site
        rss: dict[str, Any] = {}
        if not args.no_rss:
            for label, pages in (("small", args.rss_sizes[0]), ("large", args.rss_sizes[1])):
                info = _site(work, f"rss-{pages}", pages, templates)
                with start_server(info.root, int(info.base_url.rsplit(":", 1)[1]),
                                  args.server) as server:
                    out = work / "out" / f"rss-{pages}"
                    out.mkdir(parents=True)
                    cmd = [str(VENV_BIN / "newsarchive"), "crawl", info.base_url + "/",
                           "--depth", DEPTH, *POLITENESS_OFF, "-o", str(out)]
                    run = measure(f"newsarchive-{pages}", cmd, server=server,
                                  log=logs / f"rss-{pages}.log")
                    _newsarchive_after(run, out)
                rss[label] = run.summary()
                results[f"newsarchive-{pages}"] = median_run([run])
                print(f"  rss {pages:>6} pages: peak RSS {run.peak_rss_mb:.0f} MB "
                      f"(largest process {run.maxrss_mb:.0f} MB), {run.pages_per_s:.1f} "
                      f"pages/s, {run.pages} pages, rc {run.returncode}", flush=True)
                if not args.keep:
                    shutil.rmtree(work / f"rss-{pages}", ignore_errors=True)
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    def pps(name: str) -> float | None:
        value = results.get(name, {}).get("pages_per_s")
        return value or None

    ratios = {
        "end_to_end / extraction_ceiling_N": _ratio(pps("newsarchive"), pps("extract-N")),
        "archive_only / fetch_only": _ratio(pps("archive-only"), pps("fetch-only")),
        "rss_large / rss_small": _ratio(rss.get("large", {}).get("peak_rss_mb"),
                                        rss.get("small", {}).get("peak_rss_mb")),
        "archive_only / wget": _ratio(pps("archive-only"), pps("wget")),
        "end_to_end / trafilatura_cli": _ratio(pps("newsarchive"), pps("trafilatura-cli")),
    }
    print_table(results, ratios)
    load = os.getloadavg()
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "benchmark": "crawl",
        "settings": {"pages": args.pages, "runs": args.runs, "quick": args.quick,
                     "extract_pages": min(args.extract_pages, args.pages),
                     "rss_sizes": args.rss_sizes, "cpus": cpus, "server": server_kind,
                     "newsarchive_options": ["--depth", DEPTH, *POLITENESS_OFF],
                     "templates": len(templates)},
        "machine": {"platform": platform.platform(), "cpus": cpus,
                    "loadavg_after": [round(x, 2) for x in load],
                    "children_rusage_maxrss_mb": round(
                        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)},
        "versions": _versions(),
        "definitions": {
            "pages_per_s": "distinct article pages served 200 during the run / process wall "
                           "time; extraction: pages / time of the warm extraction loop",
            "cpu_ms_per_page": "user+system CPU of the process tree per page (process start "
                               "and stop included; extraction: the warm loop)",
            "cpu_pct": "user+system CPU of the process tree / wall time (100 = one core): "
                       "wait4 rusage, or the sum of per-process CPU sampled every "
                       "0.1 s if higher",
            "peak_rss_mb": "highest sampled sum of RSS over the process tree (0.1 s)",
            "peak_pss_mb": "highest sampled sum of PSS over the process tree (0.1 s): "
                           "pages shared between processes counted once",
            "maxrss_mb": "kernel peak RSS of the largest single process",
        },
        "results": results,
        "rss": rss,
        "ratios": {k: {"value": v, "target": f"{TARGETS[k][0]} {TARGETS[k][1]}",
                       "verdict": _verdict(k, v)} for k, v in ratios.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_extract"]:
        extract_main(argv[1], int(argv[2]), int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.crawl", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=None,
                        help="article pages of the site (default 5000; --quick 600)")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs of each measurement, median reported (default 3; quick 1)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 600 pages, 1 run, memory growth on 100 → 600 pages")
    parser.add_argument("--extract-pages", type=int, default=None,
                        help="pages of the site the extraction ceiling runs over (default "
                             "1050, i.e. each template 10 times; quick 210)")
    parser.add_argument("--rss-sizes", type=lambda v: [int(x) for x in v.split(",")],
                        default=None, help="SMALL,LARGE sites for memory growth "
                                           "(default 1000,10000)")
    parser.add_argument("--no-rss", action="store_true", help="skip the memory growth runs")
    parser.add_argument("--only", type=lambda v: v.split(","), default=None,
                        help="comma-separated systems: fetch-only,newsarchive,archive-only,"
                             "wget,trafilatura-cli,extract-1,extract-N")
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    parser.add_argument("--tmp", default=None, help="where the site and outputs go")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--json", type=Path, default=None, help="results file")
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args(argv)
    args.pages = args.pages or (600 if args.quick else 5000)
    args.runs = args.runs or (1 if args.quick else 3)
    args.extract_pages = args.extract_pages or (210 if args.quick else 1050)
    args.rss_sizes = args.rss_sizes or ([100, 600] if args.quick else [1000, 10000])
    # SIGTERM unwinds like Ctrl-C: servers stopped, work directory removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    payload = run_bench(args)
    if not args.no_json:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = args.json or RESULTS_DIR / f"crawl-{stamp}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nfigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
