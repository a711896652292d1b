"""Scrapy settings of the newsarchive project.

Every setting of our own components is listed here with its default and documented in
README.md ("Settings"). Command-line options of ``newsarchive crawl`` override them.
"""

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
COOKIES_ENABLED = False
# zstd stays off: replay tools can't read zstd-encoded captures (warc-requirements R26).
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en;q=0.9,*;q=0.5",
    "Accept-Encoding": "gzip, deflate, br",
}
# Many small items per response: a smaller item concurrency costs less CPU (performance notes).
CONCURRENT_ITEMS = 10

# --- safety: no remote code execution endpoints in an unattended crawler ------------------
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- depth: enforced per site by the spider (NEWS_DEPTH), not by DepthMiddleware ----------
DEPTH_LIMIT = 0

# --- components ---------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES: dict[str, int | None] = {
    # the WARC recorder sits at the network edge, above HttpCompression/Redirect/HttpCache
    "crawler.middlewares.WarcRecorderMiddleware": 950,
}
DOWNLOAD_HANDLERS = {
    "http": "crawler.handlers.FetchStartHttpHandler",
    "https": "crawler.handlers.FetchStartHttpHandler",
}
# truncated responses reach the recorder flagged, and are archived with WARC-Truncated
DOWNLOAD_FAIL_ON_DATALOSS = False
SPIDER_MIDDLEWARES: dict[str, int | None] = {}
EXTENSIONS = {
    "crawler.progress.Progress": 500,
    "crawler.truncate.TruncateLargeResponses": 500,
    "crawler.report.RunReport": 500,
    "crawler.lag.ReactorLag": 500,
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
TRAFILATURA_MAX_PENDING = 0  # pages in or waiting for the pool; 0: twice the processes

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

# --- run report (REPORT_*) -------------------------------------------------------------------
REPORT_ENABLED = True

# --- progress on a terminal (PROGRESS_*) --------------------------------------------------
PROGRESS_ENABLED = True
PROGRESS_INTERVAL = 1.0

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
