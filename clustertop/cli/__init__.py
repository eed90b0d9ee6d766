"""The command line: argument parsing and the commands, a client of the use cases."""

from clustertop.cli.main import main

__all__ = ["main"]
