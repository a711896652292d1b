"""Exit statuses of the ``newsarchive`` command (documented in README.md)."""

__all__ = ["CONFIG_ERROR", "FAILED", "OK", "STORAGE_ERROR"]

OK = 0
FAILED = 1  # the run failed: nothing fetched, or the crawl could not finish
CONFIG_ERROR = 2  # bad command line or config file: nothing was fetched
STORAGE_ERROR = 3  # the output could not be written
