"""clustertop: a terminal monitor for database clusters under change."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("clustertop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
