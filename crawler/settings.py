"""Scrapy settings of the newsarchive project.

Every setting of our own components is listed here with its default and documented in
README.md ("Settings"). Command-line options of ``newsarchive crawl`` override them.
"""

import os

from crawler import __version__
from crawler.urls import DEFAULT_TRACKING_PARAMS

BOT_NAME = "newsarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# --- identity and politeness -------------------------------------------------------------
NEWSARCHIVE_CONTACT_URL = "https://github.com/newsarchive/newsarchive"
USER_AGENT = f"newsarchive/{__version__} (+{NEWSARCHIVE_CONTACT_URL})"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
RETRY_TIMES = 2
# --- Retry-After on 429/503 (RETRYAFTER_*) --------------------------------------------------
RETRYAFTER_ENABLED = True
RETRYAFTER_MAX_DELAY = 120.0
COOKIES_ENABLED = False
# zstd stays off: replay tools can't read zstd-encoded captures (warc-requirements R26).
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en;q=0.9,*;q=0.5",
    "Accept-Encoding": "gzip, deflate, br",
}
# Many small items per response: a smaller item concurrency costs less CPU (performance notes).
CONCURRENT_ITEMS = 10
# Scrapy reads the source of a generator callback to warn of a "return value" in it, and its
# cache is keyed by the bound method, a new object for every response: the check re-read
# the spider's source for each page (5 % of the reactor's CPU in an archive-only crawl).
# tests/test_spider.py checks the spider's callbacks once instead.
WARN_ON_GENERATOR_RETURN_VALUE = False

# --- safety: no remote code execution endpoints in an unattended crawler ------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- outbound addresses: public only, unless listed (EGRESS_*) ---------------------------
EGRESS_ENABLED = True
# networks reachable though not public, e.g. ["127.0.0.1/32", "10.1.0.0/16"]; the
# NEWSARCHIVE_EGRESS_ALLOW environment variable (comma-separated) sets the default
EGRESS_ALLOW: list[str] = [n.strip() for n in
                           os.environ.get("NEWSARCHIVE_EGRESS_ALLOW", "").split(",")
                           if n.strip()]
TWISTED_DNS_RESOLVER = "crawler.egress.GuardedResolver"

# --- depth: enforced per site by the spider (NEWS_DEPTH), not by DepthMiddleware ----------
DEPTH_LIMIT = 0

# --- components ---------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES: dict[str, int | None] = {
    # the WARC recorder sits at the network edge, above HttpCompression/Redirect/HttpCache
    "crawler.middlewares.WarcRecorderMiddleware": 950,
    # distributed crawls only: per-domain delay and concurrency across the fleet
    "crawler.distributed.politeness.FleetPolitenessMiddleware": 955,
    # refuses private/loopback/metadata addresses; first to see download errors
    "crawler.egress.EgressGuardMiddleware": 960,
    # waits out Retry-After before RetryMiddleware (550) retries a 429/503
    "crawler.retryafter.RetryAfterMiddleware": 560,
}
DOWNLOAD_HANDLERS: dict[str, str | None] = {
    "http": "crawler.handlers.FetchStartHttpHandler",
    "https": "crawler.handlers.FetchStartHttpHandler",
    # a page must not make the crawler read local files or buckets with its credentials
    "file": None,
    "s3": None,
    "ftp": None,
}
# truncated responses reach the recorder flagged, and are archived with WARC-Truncated
DOWNLOAD_FAIL_ON_DATALOSS = False
SPIDER_MIDDLEWARES: dict[str, int | None] = {
    # distributed crawls only: a request's lease ends once its output is handled
    "crawler.distributed.leases.LeaseMiddleware": 10,
}
EXTENSIONS = {
    "crawler.distributed.coordinator.FleetCoordinator": 500,
    "crawler.progress.Progress": 500,
    "crawler.truncate.TruncateLargeResponses": 500,
    "crawler.report.RunReport": 500,
    "crawler.lag.ReactorLag": 500,
    "crawler.redact.RedactLogs": 0,
}
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.dedup.CanonicalDedupPipeline": 200,
    "pipelines.incremental.IncrementalPipeline": 220,
    "pipelines.filters.SinceFilterPipeline": 250,
    "pipelines.text.ArticleWriterPipeline": 500,
}

# --- newsarchive: discovery (NEWS_*) -------------------------------------------------------
NEWS_DEPTH = 2
NEWS_MAX_PAGES_PER_SITE = 20_000  # requests per site and run (crawler traps); 0: no limit
NEWS_FOLLOW_ARTICLE_LINKS = False
NEWS_ROBOTS_SITEMAPS = True
NEWS_FEED_AUTODISCOVERY = True
NEWS_MIN_ARTICLE_WORDS = 80
NEWS_STRIP_QUERY_PARAMS = list(DEFAULT_TRACKING_PARAMS)

# --- newsarchive: extraction (TRAFILATURA_*) ------------------------------------------------
TRAFILATURA_ENABLED = True
TRAFILATURA_CONFIG_FILE = None
TRAFILATURA_FAST = False
TRAFILATURA_FAVOR_PRECISION = False
TRAFILATURA_INCLUDE_TABLES = True
TRAFILATURA_TARGET_LANGUAGE = None
TRAFILATURA_MIN_WORDS = 40
TRAFILATURA_PROCESSES = -1  # extraction worker processes; -1: one per core (0 on one core)
TRAFILATURA_MAX_PENDING = 0  # pages in or waiting for the pool; 0: six per process

# --- newsarchive: where everything goes (ARCHIVE_*) ---------------------------------------
ARCHIVE_STORE = "archive"
ARCHIVE_CRAWL_NAME = None
ARCHIVE_STATE_DIR = None
ARCHIVE_DISK_BUDGET = 20 * 1024**3
ARCHIVE_RETRY_COOLDOWN = 60.0
ARCHIVE_ABORT_UPLOADS_AFTER = 6 * 3600.0
ARCHIVE_S3_ADDRESSING_STYLE = None
ARCHIVE_S3_SSE = None
ARCHIVE_S3_SSE_KMS_KEY_ID = None
ARCHIVE_S3_STORAGE_CLASS = None
ARCHIVE_S3_ACL = None
ARCHIVE_S3_CHECKSUM_MODE = None
ARCHIVE_S3_MULTIPART_THRESHOLD = 64 * 1024**2
ARCHIVE_S3_MULTIPART_CHUNKSIZE = 16 * 1024**2
ARCHIVE_S3_UPLOAD_ATTEMPTS = 4

# --- run manifests for readers (CATALOG_*) --------------------------------------------------
CATALOG_ENABLED = True

# --- newsarchive: WARC capture (WARC_*) ------------------------------------------------------
WARC_ENABLED = True
WARC_PREFIX = "newsarchive"
WARC_MAX_SIZE = 1_000_000_000
WARC_MAX_AGE = 24 * 3600.0
WARC_OPERATOR = None
WARC_DESCRIPTION = None
WARC_DEDUP_ENABLED = True
WARC_KEEP_CREDENTIALS = False

# --- large responses: stop and keep the start, flagged (TRUNCATE_*) -------------------------
TRUNCATE_ENABLED = True
TRUNCATE_SIZE = 16 * 1024 * 1024

# --- incremental state across runs (STATE_*) ----------------------------------------------
STATE_ENABLED = True
STATE_URL = None  # default: <state dir>/state.sqlite; or redis://host:6379/0
STATE_FULL = False
STATE_UPDATE_SCHEDULE = ["1h", "6h", "24h", "7d"]

# --- newsarchive: article output (ARTICLES_*) ----------------------------------------------
ARTICLES_ENABLED = True
ARTICLES_MAX_SIZE = 64 * 1024 * 1024
ARTICLES_TEXT_FILES = False
ARTICLES_MAX_ITEMS = 0
ARTICLES_SINCE = None

# --- event-loop lag measurement (LAG_*) ----------------------------------------------------
LAG_ENABLED = True
LAG_INTERVAL = 0.1

# --- credentials out of the log (REDACT_*) ------------------------------------------------
REDACT_ENABLED = True
# settings whose values never reach the log (passwords in URL settings are found anyway)
REDACT_SETTINGS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                   "HTTPAUTH_USER", "HTTPAUTH_PASS"]

# --- run report (REPORT_*) -------------------------------------------------------------------
REPORT_ENABLED = True

# --- progress on a terminal (PROGRESS_*) --------------------------------------------------
PROGRESS_ENABLED = True
PROGRESS_INTERVAL = 1.0

# --- distributed crawls on scrapy-redis (DISTRIBUTED_*; on with --redis) -------------------
DISTRIBUTED_ENABLED = False
DISTRIBUTED_REDIS_URL = None
DISTRIBUTED_PREFIX = None  # default: newsarchive:<crawl name>
DISTRIBUTED_WORKER_ID = None  # default: $NEWSARCHIVE_WORKER_ID, else the short host name
DISTRIBUTED_RUN_ID = None  # set when the worker joins a run
DISTRIBUTED_SEEDER = False  # set for the one worker that seeds a run
DISTRIBUTED_JOIN_WAIT = 60.0  # a worker waits this long for a run to join
DISTRIBUTED_IDLE_TIMEOUT = 30.0  # drained this long: the worker finishes
DISTRIBUTED_WORKER_TIMEOUT = 60.0  # no heartbeat this long: a worker is dead
DISTRIBUTED_HEARTBEAT = 5.0
DISTRIBUTED_POLL_INTERVAL = 1.0
DISTRIBUTED_EXPIRE = 7 * 24 * 3600.0  # run keys (seen-set, reports) expire this long after
DISTRIBUTED_POLITENESS = True  # per-domain delay and concurrency across the fleet

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
