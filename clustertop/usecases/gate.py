"""The gate as a use case: poll the clusters and judge each round, for `clustertop gate`, a
guarded run and the TUI alike (the TUI feeds its own rounds to the same Gate)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from clustertop.collectors.gate import UNKNOWN, Gate, GateVerdict
from clustertop.core.config import ClusterConfig, Config
from clustertop.core.gate import GateRule, parse_rule
from clustertop.usecases.wiring import make_poller


def rules_for(cluster: ClusterConfig, extra: Sequence[str] = (), *, abort: bool = False
              ) -> tuple[GateRule, ...]:
    """The cluster's gate rules (plus its abort rules for a guarded run) and `--rule`s."""
    base = cluster.gate_rules + (cluster.abort_rules if abort else ())
    added = tuple(parse_rule(text, "--rule") for text in extra)
    seen: set[str] = set()
    unique = []
    for rule in (*base, *added):
        if rule.text not in seen:
            seen.add(rule.text)
            unique.append(rule)
    return tuple(unique)


class GateWatch:
    """A poller over the clusters of `config` and a Gate for each; `judge()` takes a round."""

    def __init__(self, config: Config, extra_rules: Sequence[str] = (), *,
                 abort: bool = False) -> None:
        self.config = config
        self.gates = {
            name: Gate(name, rules_for(cluster, extra_rules, abort=abort))
            for name, cluster in config.clusters.items()
        }
        self.interval = min(c.poll_interval for c in config.clusters.values())
        self.poller = make_poller(config)

    def judge(self) -> tuple[GateVerdict, ...]:
        round_ = self.poller.poll_round()
        return tuple(gate.judge(round_) for gate in self.gates.values())

    def settle(self) -> tuple[GateVerdict, ...]:
        """Two rounds an interval apart: rates (rollbacks) and a heartbeat need the second.
        A replica that has not applied this process's first heartbeat has a lag of at least
        the time since that write: polled on until the bound passes the rule's threshold (a
        replica that does not apply anything then fails) or the replica catches up."""
        self.judge()
        time.sleep(self.interval)
        verdicts = self.judge()
        deadline = time.monotonic() + min(10.0, self._lag_threshold() + 2.0)
        while _waiting_for_heartbeat(verdicts) and time.monotonic() < deadline:
            time.sleep(self.interval)
            verdicts = self.judge()
        return verdicts

    def _lag_threshold(self) -> float:
        limits = [r.threshold for g in self.gates.values() for r in g.rules
                  if r.metric == "lag_s" and r.threshold is not None]
        return max(limits, default=0.0)

    def wait_for_go(self, seconds: float, on_round: Callable[[Sequence[GateVerdict]], None]
                    ) -> tuple[GateVerdict, ...]:
        """Poll until every cluster is GO or `seconds` pass; the last verdicts."""
        deadline = time.monotonic() + seconds
        verdicts = self.settle()
        on_round(verdicts)
        while not all(v.go for v in verdicts) and time.monotonic() < deadline:
            time.sleep(max(0.0, min(self.interval, deadline - time.monotonic())))
            verdicts = self.judge()
            on_round(verdicts)
        return verdicts

    def close(self) -> None:
        self.poller.close()


def _waiting_for_heartbeat(verdicts: Sequence[GateVerdict]) -> bool:
    return any(r.state == UNKNOWN and r.rule.metric == "lag_s" and "heartbeat" in r.why
               for v in verdicts for r in v.results)
