"""newsarchive's Scrapy project: settings, the news spider, discovery and the CLI."""

__all__ = ["__version__"]

__version__ = "0.1.0"
