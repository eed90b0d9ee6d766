"""The bottom layer: errors with one root, the config model, node specs and workload mixes.
Imports nothing of clustertop above it."""
