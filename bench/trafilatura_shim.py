"""Run trafilatura's command line with ``*.localhost`` names resolving to 127.0.0.1.

trafilatura (through courlan) refuses URLs whose host is an IP address or a bare
``localhost``, so its benchmark copy of the site is named ``http://news.localhost:PORT``;
this shim only answers the name lookup (as curl and browsers do for ``.localhost``), the
CLI itself runs unchanged: ``python -m bench.trafilatura_shim [trafilatura options]``.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

_getaddrinfo = socket.getaddrinfo


def _local_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


def main() -> None:
    socket.getaddrinfo = _local_getaddrinfo
    from trafilatura.cli import main as cli_main  # noqa: PLC0415

    sys.argv[0] = "trafilatura"
    cli_main()


if __name__ == "__main__":
    main()
