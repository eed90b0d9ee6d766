"""The Go/No-Go gate: each rule of core.gate judged on a poll round of one cluster.

A rule is PASS, FAIL, UNKNOWN (its figure cannot be read: NO-GO unless the rule says
unknown = "pass") or N/A (its figure does not exist here: shard skew on a cluster without
Citus, replica lag on a cluster without replicas). A rule with `for D` fails only once its
condition has failed for D without a break; until then it passes, and says for how long it
has been failing. The gate keeps what it needs between rounds (when each rule began to fail,
the last PROBE_KEPT probe timings), bounded."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from clustertop.collectors.samples import NodeSample, PollRound
from clustertop.core.gate import PRIMARY, GateRule

PASS, FAIL, UNKNOWN, NOT_APPLICABLE = "PASS", "FAIL", "UNKNOWN", "N/A"
PROBE_KEPT = 60  # probe timings per node kept for probe_p95_ms
PROBE_MIN = 2  # fewer than this: the p95 is unknown (a one-shot gate polls twice)
REPLICA_ROLES = ("replica", "standby")
WRITER_ROLES = ("primary", "coordinator")


@dataclass(frozen=True)
class Figure:
    """What a metric reads on a round: its value (None: unknown), what `all` stands for, where
    the worst value is, and why it is unknown or does not apply."""

    value: float | None
    total: float | None = None
    where: str = ""
    unknown: str | None = None
    not_applicable: str | None = None
    lower_bound: bool = False  # the value is at least this (a replica still catching up)


@dataclass(frozen=True)
class RuleResult:
    rule: GateRule
    state: str
    value: float | None
    shown: str  # the value as read, with its unit, or ?
    why: str  # where the worst value is, why unknown, or how long it has been failing
    failing_for_s: float = 0.0

    @property
    def blocks(self) -> bool:
        """Whether this result makes the gate NO-GO."""
        return self.state == FAIL or (self.state == UNKNOWN and not self.rule.unknown_pass)

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule.text,
            "state": self.state,
            "value": self.value,
            "shown": self.shown,
            "threshold": self.rule.threshold_text,
            "why": self.why,
            "failing_for_s": round(self.failing_for_s, 1),
            "unknown_passes": self.rule.unknown_pass,
        }


@dataclass(frozen=True)
class GateVerdict:
    cluster: str
    at: float
    results: tuple[RuleResult, ...]

    @property
    def go(self) -> bool:
        return not any(r.blocks for r in self.results)

    @property
    def word(self) -> str:
        return "GO" if self.go else "NO-GO"

    @property
    def blocking(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if r.blocks)

    def reason(self) -> str:
        """The first blocking rule, in a few words (a header has room for little more)."""
        first = next(iter(self.blocking), None)
        if first is None:
            return ""
        return f"{first.rule.text}: {first.shown}" + (f" ({first.why})" if first.why else "")

    def to_json(self) -> dict[str, object]:
        return {
            "cluster": self.cluster,
            "at": self.at,
            "verdict": self.word,
            "rules": [r.to_json() for r in self.results],
        }


class Gate:
    """Judges a cluster's rounds against its rules; one per cluster, fed every round."""

    def __init__(self, cluster: str, rules: Sequence[GateRule]) -> None:
        self.cluster = cluster
        self.rules = tuple(rules)
        self._failing_since: dict[str, float] = {}
        self._probes: dict[str, deque[float]] = {}
        self._roles: dict[str, str] = {}  # each node's role when last seen up

    def judge(self, round_: PollRound) -> GateVerdict:
        nodes = [n for n in round_.nodes if n.cluster == self.cluster]
        for node in nodes:
            if node.up and node.role:
                self._roles[node.node] = node.role
            if node.up and node.probe_ms is not None:
                kept = self._probes.setdefault(node.node, deque(maxlen=PROBE_KEPT))
                kept.append(node.probe_ms)
        results = tuple(self._judge_rule(rule, nodes, round_.at) for rule in self.rules)
        return GateVerdict(self.cluster, round_.at, results)

    def _judge_rule(self, rule: GateRule, nodes: Sequence[NodeSample], at: float) -> RuleResult:
        figure = self.figure(rule, nodes)
        shown = _shown(rule.metric, figure)
        if figure.not_applicable:
            self._failing_since.pop(rule.text, None)
            return RuleResult(rule, NOT_APPLICABLE, None, "-", figure.not_applicable)
        if figure.value is None or (figure.lower_bound and rule.holds(figure.value,
                                                                      figure.total)):
            # A lower bound that meets the rule says nothing: the lag may be far more.
            self._failing_since.pop(rule.text, None)
            return RuleResult(rule, UNKNOWN, None, "?", figure.unknown or "not read yet")
        if rule.holds(figure.value, figure.total):
            self._failing_since.pop(rule.text, None)
            return RuleResult(rule, PASS, figure.value, shown, "")
        since = self._failing_since.setdefault(rule.text, at)
        failing = max(0.0, at - since)
        if failing < rule.for_s:
            why = f"failing for {failing:.0f} s of {rule.for_s:g} s" + (
                f"; {figure.where}" if figure.where else "")
            return RuleResult(rule, PASS, figure.value, shown, why, failing)
        return RuleResult(rule, FAIL, figure.value, shown, figure.where, failing)

    # -- the metrics ----------------------------------------------------------------------------

    def figure(self, rule: GateRule, nodes: Sequence[NodeSample]) -> Figure:
        metric = rule.metric
        up = [n for n in nodes if n.up]
        if metric == "nodes_up":
            down = [n.node for n in nodes if not n.up]
            return Figure(float(len(up)), float(len(nodes)),
                          where=f"down: {', '.join(down)}" if down else "")
        if metric == "replication_running":
            return _replication_running(nodes)
        if metric == "lag_s":
            # A node that is down and was not seen as the primary may be a replica whose lag
            # nobody can read: unknown, never left out.
            down = [n.node for n in nodes
                    if not n.up and self._roles.get(n.node) not in WRITER_ROLES]
            if down:
                return Figure(None, unknown=f"{down[0]} is down")
            return _lag(nodes)
        if metric == "probe_p95_ms":
            return self._probe_p95()
        reader = _CLUSTER_READERS.get(metric)
        if reader is not None:
            return reader(up)
        return _node_metric(rule, up)

    def _probe_p95(self) -> Figure:
        worst: tuple[float, str] | None = None
        for name, kept in self._probes.items():
            if len(kept) < PROBE_MIN:
                continue
            value = percentile(list(kept), 95)
            if worst is None or value > worst[0]:
                worst = (value, name)
        if worst is None:
            return Figure(None, unknown=f"fewer than {PROBE_MIN} probes timed yet")
        return Figure(worst[0], where=worst[1])


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * percent / 100))
    return ordered[rank - 1]


def _replication_running(nodes: Sequence[NodeSample]) -> Figure:
    replicas = [n for n in nodes if n.up and n.role in REPLICA_ROLES]
    if not replicas:
        return Figure(None, not_applicable="no replica or standby answers")
    running, stopped, unknown = 0, [], []
    for node in replicas:
        states = [r.running for r in node.replication]
        if states and all(s is True for s in states):
            running += 1
        elif any(s is False for s in states):
            stopped.append(node.node)
        else:
            unknown.append(node.node)
    if unknown:
        return Figure(None, unknown=f"replication state unknown on {', '.join(unknown)}")
    return Figure(float(running), float(len(replicas)),
                  where=f"stopped: {', '.join(stopped)}" if stopped else "")


def _lag(nodes: Sequence[NodeSample]) -> Figure:
    replicas = [n for n in nodes if n.up and n.role in REPLICA_ROLES]
    if not replicas:
        return Figure(None, not_applicable="no replica or standby answers")
    worst: NodeSample | None = None
    for node in replicas:
        if node.lag_s is None:
            return Figure(None, unknown=f"{node.node}: lag unknown")
        if worst is None or (worst.lag_s or 0.0) < node.lag_s:
            worst = node
    assert worst is not None and worst.lag_s is not None
    return Figure(worst.lag_s, where=worst.node, lower_bound=worst.lag_is_lower_bound,
                  unknown=f"{worst.node} has not applied the first heartbeat yet")


def _connections_ratio(up: Sequence[NodeSample]) -> Figure:
    worst: tuple[float, str] | None = None
    for node in up:
        if node.connections is None or not node.max_connections:
            return Figure(None, unknown=f"{node.node}: connections unknown")
        ratio = node.connections / node.max_connections
        if worst is None or ratio > worst[0]:
            worst = (ratio, node.node)
    return Figure(worst[0], where=worst[1]) if worst else Figure(None, unknown="no node answers")


def _cache_hit_ratio(up: Sequence[NodeSample]) -> Figure:
    worst: tuple[float, str] | None = None
    for node in up:
        if node.cache_hit_ratio is None:
            return Figure(None, unknown=f"{node.node}: cache hit ratio unknown")
        if worst is None or node.cache_hit_ratio < worst[0]:
            worst = (node.cache_hit_ratio, node.node)
    return Figure(worst[0], where=worst[1]) if worst else Figure(None, unknown="no node answers")


def _shard_skew(up: Sequence[NodeSample]) -> Figure:
    citus = [n for n in up if n.detail is not None and n.detail.citus is not None]
    if not citus:
        if any(n.role == "coordinator" for n in up):
            return Figure(None, unknown="shard sizes not read yet (the detail pass)")
        return Figure(None, not_applicable="not a Citus cluster")
    sample = citus[0].detail.citus  # type: ignore[union-attr]
    assert sample is not None
    if sample.skew is None:
        return Figure(None, unknown="shard bytes of some worker unknown")
    return Figure(sample.skew, where=citus[0].node)


def _sessions_figure(up: Sequence[NodeSample], metric: str) -> Figure:
    total, worst, where = 0.0, 0.0, ""
    for node in up:
        sample = node.sessions
        if sample is None:
            return Figure(None, unknown=f"{node.node}: sessions not read")
        if metric == "blocked_sessions":
            blocked = [s for s in sample.sessions if s.waiting and not s.own]
            total += len(blocked)
            if blocked and not where:
                where = f"{node.node}: session {blocked[0].id} waits"
        elif (sample.oldest_xact_s or 0.0) > worst:
            worst = sample.oldest_xact_s or 0.0
            where = f"{node.node}: session {sample.oldest_xact_session}"
    if not up:
        return Figure(None, unknown="no node answers")
    return Figure(total if metric == "blocked_sessions" else worst, where=where)


def _rollback_ratio(up: Sequence[NodeSample]) -> Figure:
    writers = [n for n in up if n.role in WRITER_ROLES]
    if not writers:
        return Figure(None, unknown="no primary answers")
    worst: tuple[float, str] | None = None
    for node in writers:
        t = node.throughput
        if t is None or t.tps is None or t.rollbacks_ps is None:
            return Figure(None, unknown=f"{node.node}: rates need a second poll")
        ratio = t.rollbacks_ps / t.tps if t.tps > 0 else 0.0
        if worst is None or ratio > worst[0]:
            worst = (ratio, node.node)
    assert worst is not None
    return Figure(worst[0], where=worst[1])


_CLUSTER_READERS = {
    "connections_ratio": _connections_ratio,
    "cache_hit_ratio": _cache_hit_ratio,
    "shard_skew": _shard_skew,
    "oldest_transaction_s": lambda up: _sessions_figure(up, "oldest_transaction_s"),
    "blocked_sessions": lambda up: _sessions_figure(up, "blocked_sessions"),
    "rollback_ratio": _rollback_ratio,
}


def node_value(node: NodeSample, metric: str) -> float | None:
    """A per-node figure of `poll --json` by its name (`throughput.tps`)."""
    value: object = node
    for part in metric.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return float(value) if isinstance(value, int | float) else None


def _node_metric(rule: GateRule, up: Sequence[NodeSample]) -> Figure:
    """Must hold on every node that answers: the value shown is a failing node's, else the
    one nearest to failing."""
    metric = rule.metric.removeprefix(PRIMARY)
    if metric != rule.metric:
        up = [n for n in up if n.role in WRITER_ROLES]
    if not up:
        return Figure(None, unknown="no node answers" if metric == rule.metric
                      else "no primary answers")
    values: list[tuple[float, str]] = []
    for node in up:
        value = node_value(node, metric)
        if value is None:
            return Figure(None, unknown=f"{node.node}: {metric} unknown")
        values.append((value, node.node))
    failing = [v for v in values if not rule.holds(v[0])]
    if failing:
        return Figure(failing[0][0], where=failing[0][1])
    pick = min if rule.op in (">", ">=") else max
    value, name = pick(values)
    return Figure(value, where=name if len(values) > 1 else "")


UNITS = {"lag_s": " s", "oldest_transaction_s": " s", "probe_p95_ms": " ms",
         "uptime_s": " s", "poll_ms": " ms", "probe_ms": " ms"}


def _shown(metric: str, figure: Figure) -> str:
    if figure.value is None:
        return "?"
    if figure.total is not None:
        return f"{figure.value:.0f}/{figure.total:.0f}"
    prefix = ">=" if figure.lower_bound else ""
    value = figure.value
    if value == int(value) and abs(value) < 1e15:
        text = f"{value:.0f}"
    elif metric.endswith("_ratio") or metric == "shard_skew" or abs(value) < 10:
        text = f"{value:.3f}"
    else:
        text = f"{value:.1f}"
    return prefix + text + UNITS.get(metric, "")
