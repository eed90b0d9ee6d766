"""Cleanups: remove old rows by one of four methods, safely, throttled, recorded."""
