"""Actions: changes clustertop starts (load, workloads, cleanups, rebalances). No textual imports."""
