"""What every screen reads: the config, the bounded history, alerts, jobs and the filter."""

from __future__ import annotations

from dataclasses import dataclass, field

from clustertop.actions.jobs import JobRegistry, JobSnapshot
from clustertop.collectors.gate import Gate, GateVerdict
from clustertop.collectors.history import History
from clustertop.collectors.samples import NodeSample, PollRound
from clustertop.core.config import Config
from clustertop.tui.alerts import AlertBook


@dataclass
class AppState:
    config: Config
    history: History
    alerts: AlertBook
    jobs: JobRegistry
    poll_interval: float
    paused: bool = False
    filter: str = ""
    job_snapshots: tuple[JobSnapshot, ...] = ()
    # Tables' fragmentation before and after their last big drop (an optimize or a cleanup).
    frag_changes: dict[str, tuple[float, float]] = field(default_factory=dict)
    # The Go/No-Go gate of each cluster, judged on every round the screen gets.
    gates: dict[str, Gate] = field(default_factory=dict)
    verdicts: dict[str, GateVerdict] = field(default_factory=dict)
    recording: str | None = None  # the file this app records to (R)
    replay_status: str | None = None  # a replay's position, speed and state
    hint: str | None = None  # the demo's line of what to try; gone after the first key

    def __post_init__(self) -> None:
        for name, cluster in self.config.clusters.items():
            self.gates.setdefault(name, Gate(name, cluster.gate_rules))

    def judge(self, round_: PollRound) -> None:
        for name, gate in self.gates.items():
            self.verdicts[name] = gate.judge(round_)

    @property
    def latest(self) -> PollRound | None:
        return self.history.latest

    def nodes(self) -> list[NodeSample]:
        """The latest sample of every node that passes the filter."""
        if self.latest is None:
            return []
        text = self.filter.lower()
        return [
            n
            for n in self.latest.nodes
            if not text or text in f"{n.key} {n.engine} {n.role}".lower()
        ]

    def series(self, key: str) -> list[NodeSample]:
        return list(self.history.series(key))

    def note_fragmentation(self, round_: PollRound) -> None:
        """Remember before/after when a table's reclaimable share falls by half or more."""
        for node in round_.nodes:
            if node.detail is None or not node.up:
                continue
            for table in node.detail.tables:
                if table.fragmentation_ratio is None:
                    continue
                key = f"{node.cluster}/{table.name}"
                last_key = f"{key}#last"
                previous = self.frag_changes.get(last_key)
                if previous is not None:
                    before = previous[1]
                    if before >= 0.05 and table.fragmentation_ratio <= before / 2:
                        self.frag_changes[key] = (before, table.fragmentation_ratio)
                self.frag_changes[last_key] = (0.0, table.fragmentation_ratio)

    def frag_change(self, cluster: str, table: str) -> tuple[float, float] | None:
        return self.frag_changes.get(f"{cluster}/{table}")
