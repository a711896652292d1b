"""Run pywb's ``wayback`` with br decoding fixed: ``python -m pipelines.warc.wayback ARGS``.

Same arguments as pywb's ``wayback`` command (``-b 127.0.0.1 -p PORT -d ROOT``).
"""

from __future__ import annotations

import sys

from pipelines.warc.compat import install_brotli_for_warcio


def main() -> None:
    install_brotli_for_warcio()
    from pywb.apps.cli import wayback  # noqa: PLC0415

    sys.argv[0] = "wayback"
    wayback()


if __name__ == "__main__":
    main()
