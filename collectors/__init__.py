"""Collectors: plain-Python readers of cluster state, usable from a script with no terminal."""
