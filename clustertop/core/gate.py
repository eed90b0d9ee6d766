"""The Go/No-Go gate's rule language, as the config and `--rule` write it:

    METRIC OP THRESHOLD [for DURATION]

METRIC is a cluster figure (CLUSTER_METRICS) or a per-node figure of `poll --json`
(NODE_METRICS, e.g. `active` or `throughput.tps`), which must hold on every node that is up;
`primary.` before a node figure judges the primary (or coordinator) alone (`primary.active`).
OP is one of < <= > >= == !=. THRESHOLD is a number, or `all` for the counting metrics
(nodes_up == all). `for 5m` (ms, s, m, h) makes the rule fail only once its condition has
failed for that long without a break. A rule whose metric cannot be read is UNKNOWN, which
counts as NO-GO unless the rule says `unknown = "pass"`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from clustertop.core.errors import InputError

# Cluster-wide figures: name -> what it measures.
CLUSTER_METRICS: dict[str, str] = {
    "nodes_up": "nodes that answer (`all`: every node of the cluster)",
    "replication_running": "replicas/standbys whose replication runs (`all`: every one)",
    "lag_s": "the worst replica lag, seconds (heartbeat, else the engine's figure)",
    "connections_ratio": "the fullest node's connections / max_connections",
    "cache_hit_ratio": "the lowest buffer cache hit ratio of the nodes",
    "shard_skew": "Citus: (max - min) / mean of the workers' shard bytes",
    "oldest_transaction_s": "the oldest open transaction on any node, seconds",
    "blocked_sessions": "sessions waiting on another session's lock, all nodes",
    "rollback_ratio": "rollbacks / (commits + rollbacks) per second, the busiest primary",
    "probe_p95_ms": "p95 of a tiny probe statement's round trip, timed every poll (last 60)",
}
# Per-node figures of `poll --json`, by their JSON names (dotted inside throughput).
NODE_METRICS: dict[str, str] = {
    "active": "Threads_running / active backends",
    "connections": "sessions connected",
    "max_connections": "the server's max_connections",
    "uptime_s": "seconds since the server started",
    "poll_ms": "how long the node's poll took",
    "probe_ms": "this poll's probe statement round trip",
    **{
        f"throughput.{name}": f"{what} per second"
        for name, what in (
            ("tps", "transactions"),
            ("qps", "statements"),
            ("rows_read_ps", "rows read"),
            ("rows_inserted_ps", "rows inserted"),
            ("rows_updated_ps", "rows updated"),
            ("rows_deleted_ps", "rows deleted"),
            ("log_bytes_ps", "binlog/WAL bytes"),
            ("rollbacks_ps", "rollbacks"),
        )
    },
}
PRIMARY = "primary."  # a node figure judged on the writable node only
COUNTING = ("nodes_up", "replication_running")  # these take `all` as a threshold
OPS = ("<=", ">=", "==", "!=", "<", ">")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_RULE = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<threshold>[^\s]+)(?:\s+for\s+(?P<for>\S+))?\s*$"
)

# The runbooks' checklist: every node reachable, replication running, lag under a second,
# connections under 80%, shard skew under 20%, no long transaction, nobody blocked, few
# rollbacks, and a quick probe.
DEFAULT_RULES: tuple[str, ...] = (
    "nodes_up == all",
    "replication_running == all",
    "lag_s < 1",
    "connections_ratio < 0.8",
    "shard_skew < 0.2",
    "oldest_transaction_s < 60",
    "blocked_sessions == 0",
    "rollback_ratio < 0.01 for 5m",
    "probe_p95_ms < 50",
)
# What trips a guarded run by default (`clustertop guard`), besides the gate's rules.
DEFAULT_ABORT_RULES: tuple[str, ...] = ("nodes_up == all", "lag_s < 5 for 10s")


@dataclass(frozen=True)
class GateRule:
    text: str
    metric: str
    op: str
    threshold: float | None  # None: `all`
    for_s: float = 0.0
    unknown_pass: bool = False

    def holds(self, value: float, total: float | None = None) -> bool:
        """Whether `value` meets the rule (`total` is what `all` stands for)."""
        limit = total if self.threshold is None else self.threshold
        if limit is None:
            return False
        return {
            "<": value < limit,
            "<=": value <= limit,
            ">": value > limit,
            ">=": value >= limit,
            "==": value == limit,
            "!=": value != limit,
        }[self.op]

    @property
    def threshold_text(self) -> str:
        return "all" if self.threshold is None else f"{self.threshold:g}"


def parse_duration(text: str, where: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise InputError(where, text, "a duration must be a number with ms, s, m or h (5m)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_rule(text: str, where: str, *, unknown: str = "fail") -> GateRule:
    """One rule; anything wrong in it is an InputError naming `where` and the rule."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(where, text, "a rule is METRIC OP THRESHOLD [for DURATION], e.g."
                         " 'lag_s < 1'")
    match = _RULE.match(text)
    if not match:
        raise InputError(where, text, "a rule is METRIC OP THRESHOLD [for DURATION] with OP one"
                         " of < <= > >= == !=, e.g. 'lag_s < 1 for 10s'")
    metric = match.group("metric")
    if metric not in CLUSTER_METRICS and metric.removeprefix(PRIMARY) not in NODE_METRICS:
        raise InputError(where, text, f"unknown metric {metric!r}: `clustertop gate --metrics`"
                         " lists them")
    raw = match.group("threshold")
    threshold: float | None
    if raw == "all":
        if metric not in COUNTING:
            raise InputError(where, text, f"`all` is a threshold of {' and '.join(COUNTING)}"
                             " only")
        threshold = None
    else:
        try:
            threshold = float(raw)
        except ValueError:
            raise InputError(where, text, f"threshold {raw!r} is not a number") from None
        if not math.isfinite(threshold):
            raise InputError(where, text, "the threshold must be a finite number")
    for_s = parse_duration(match.group("for"), where) if match.group("for") else 0.0
    if unknown not in ("fail", "pass"):
        raise InputError(where, unknown, 'unknown must be "fail" or "pass"')
    return GateRule(" ".join(text.split()), metric, match.group("op"), threshold, for_s,
                    unknown == "pass")
