"""Exit statuses of the ``newsarchive`` command (documented in README.md)."""

__all__ = ["CONFIG_ERROR", "FAILED", "LOCKED", "OK", "SITES_FAILED", "STORAGE_ERROR",
           "WARNINGS", "describe"]

OK = 0  # success
FAILED = 1  # the run failed: nothing fetched at all, or it could not finish
CONFIG_ERROR = 2  # bad command line or config file: nothing was fetched
STORAGE_ERROR = 3  # the output could not be written, or files are left pending
SITES_FAILED = 4  # some sites failed (nothing fetched from them), others worked
LOCKED = 5  # another run holds the lock on the same state directory
WARNINGS = 6  # success, but a health threshold of the config was crossed

_NAMES = {OK: "success", FAILED: "failed", CONFIG_ERROR: "config error",
          STORAGE_ERROR: "storage error", SITES_FAILED: "some sites failed",
          LOCKED: "lock held", WARNINGS: "success with warnings"}


def describe(code: int) -> str:
    return _NAMES.get(code, f"status {code}")
