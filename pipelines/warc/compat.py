"""Let warcio (and pywb on top of it) decode ``br`` bodies with Google's ``brotli``.

warcio 1.8 expects the brotlipy API (``Decompressor().decompress`` and a settable
``unused_data``); Scrapy needs Google's Brotli (``Decompressor().process``). Both
install a top-level ``brotli`` module, so only one can be present: we keep Brotli and
give warcio a decompressor with the API it expects.
"""

from __future__ import annotations

__all__ = ["install_brotli_for_warcio"]


class _BrotliDecompressor:
    """brotlipy-style wrapper over ``brotli.Decompressor``."""

    def __init__(self) -> None:
        import brotli  # noqa: PLC0415

        self._decompressor = brotli.Decompressor()
        self.unused_data: bytes | None = None

    def decompress(self, data: bytes) -> bytes:
        return bytes(self._decompressor.process(data))

    def flush(self) -> bytes:
        return b""


def install_brotli_for_warcio() -> bool:
    """Register the wrapper for ``br`` in warcio's readers; False if brotli is missing
    or already has the brotlipy API."""
    try:
        import brotli  # noqa: PLC0415
    except ImportError:
        return False
    if hasattr(brotli.Decompressor(), "decompress"):
        return False  # brotlipy: warcio's own support works
    from warcio.bufferedreaders import BufferedReader  # noqa: PLC0415

    BufferedReader.DECOMPRESSORS["br"] = _BrotliDecompressor
    return True
