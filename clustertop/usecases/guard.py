"""A guarded run: any change command (a migration script, pt-online-schema-change, a client
running an ALTER) as a child in its own process group, with the cluster watched while it runs.
A timeline line is said whenever a rule changes state. When a rule blocks (the gate's rules,
the abort rules, the `--rule`s), the run trips: `stop` sends SIGTERM to the group, then
SIGKILL after the grace; `pause` sends SIGSTOP, and SIGCONT once every rule has been clear for
`resume_after_s`. A paused child must not hold up others: when a session has waited on a lock
for longer than `max_pause_s` while the child is stopped, the pause becomes a stop.

Exit: the child's own code, or TRIPPED (3) when the guard stopped it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from clustertop.actions.jobs import Job, JobCancelled
from clustertop.collectors.gate import GateVerdict, RuleResult
from clustertop.core.config import Config
from clustertop.core.errors import InputError, OperationFailed
from clustertop.usecases.gate import GateWatch

TRIPPED = 3
ON_TRIP = ("stop", "pause")


@dataclass(frozen=True)
class GuardSpec:
    config: Config  # narrowed to the cluster watched
    command: tuple[str, ...]
    rules: tuple[str, ...] = ()  # --rule, on top of the gate's and the abort rules
    on_trip: str = "stop"
    grace_s: float = 10.0
    resume_after_s: float = 5.0
    max_pause_s: float = 60.0

    def check(self) -> None:
        if not self.command:
            raise InputError("COMMAND", "", "name the command to guard after --, e.g."
                             " clustertop guard -- ./migrate.sh")
        if self.on_trip not in ON_TRIP:
            raise InputError("--on-trip", self.on_trip, "must be stop or pause")
        for flag, value in (("--grace", self.grace_s), ("--resume-after", self.resume_after_s),
                            ("--max-pause", self.max_pause_s)):
            if not 0 <= value <= 86_400:
                raise InputError(flag, value, "must be 0 to 86400 seconds")


@dataclass
class GuardRun:
    spec: GuardSpec
    say: Callable[[str], None]
    # Where the command's output goes: None passes it through (the CLI's terminal); a
    # callable gets each line (the TUI's job log).
    output: Callable[[str], None] | None = None
    cancelled: Callable[[], bool] = bool  # the operator stops it (x on Jobs)
    on_state: Callable[[str], None] = lambda _line: None  # the rules' state, in a line
    stamped: bool = True  # each timeline line starts with its time (a job's log adds its own)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    peaks: dict[str, float] = field(default_factory=dict)
    trips: int = 0
    tripped_stop: bool = False
    stopping: bool = False

    def run(self) -> tuple[int, dict[str, Any]]:
        spec = self.spec
        spec.check()
        watch = GateWatch(spec.config, spec.rules, abort=True)
        started = time.time()
        try:
            first = watch.settle()
            self._note_changes({}, first)
            self.on_state(_state_line(first, False))
            held = [v for v in first if not v.go]
            if held:
                raise OperationFailed(
                    "NO-GO before the start, nothing started: "
                    + "; ".join(f"{v.cluster} {v.reason()}" for v in held)
                )
            pipe = subprocess.PIPE if self.output is not None else None
            try:
                child = subprocess.Popen(list(spec.command), start_new_session=True,
                                         stdout=pipe, stderr=subprocess.STDOUT if pipe else None,
                                         stdin=subprocess.DEVNULL if pipe else None)
            except OSError as exc:
                raise OperationFailed(f"cannot start {spec.command[0]}: {exc.strerror or exc}"
                                      ) from None
            self._event("started", f"pid {child.pid}: {' '.join(spec.command)}")
            reader = self._read_output(child)
            code = self._watch(watch, child, first)
            if reader is not None:
                reader.join(5)
        finally:
            watch.close()
        record = {
            "command": list(spec.command),
            "clusters": list(spec.config.clusters),
            "on_trip": spec.on_trip,
            "rules": [r.text for g in watch.gates.values() for r in g.rules],
            "started_at": started,
            "duration_s": round(time.time() - started, 3),
            "exit_code": code,
            "tripped": self.trips > 0,
            "stopped_by_guard": self.tripped_stop,
            "trips": self.trips,
            "peaks": {k: round(v, 4) for k, v in self.peaks.items()},
            "timeline": self.timeline,
        }
        return code, record

    def _read_output(self, child: subprocess.Popen[bytes]) -> threading.Thread | None:
        output, stream = self.output, child.stdout
        if output is None or stream is None:
            return None

        def pump() -> None:
            for raw in iter(stream.readline, b""):
                output(raw.decode("utf-8", "replace").rstrip("\n"))

        thread = threading.Thread(target=pump, name="guard-output", daemon=True)
        thread.start()
        return thread

    # -- the loop -------------------------------------------------------------------------------

    def _watch(self, watch: GateWatch, child: subprocess.Popen[bytes],
               verdicts: Sequence[GateVerdict]) -> int:
        spec = self.spec
        paused_at: float | None = None
        clear_since: float | None = None
        blocked_since: float | None = None
        previous = {v.cluster: v for v in verdicts}
        while True:
            code = child.poll()
            if code is not None:
                if paused_at is not None:  # ended while stopped (killed by someone else)
                    self._event("ended", f"while paused, exit {code}")
                self._event("ended", f"exit {code}")
                return TRIPPED if self.tripped_stop else code
            if self.cancelled() and not self.stopping:
                self._event("stop", "asked by the operator: SIGTERM to the process group")
                if paused_at is not None:
                    self._signal(child, signal.SIGCONT)
                    paused_at = None
                self._stop(child, by_guard=False)
                continue
            time.sleep(watch.interval)
            current = watch.judge()
            self._note_changes(previous, current)
            self.on_state(_state_line(current, paused_at is not None))
            previous = {v.cluster: v for v in current}
            blocking = [r for v in current for r in v.blocking]
            now = time.monotonic()
            if blocking and paused_at is None:
                self.trips += 1
                reason = "; ".join(f"{r.rule.text} ({r.shown}{', ' + r.why if r.why else ''})"
                                   for r in blocking)
                if spec.on_trip == "stop":
                    self._event("trip", f"{reason}: SIGTERM to the process group")
                    self._stop(child)
                    continue
                self._event("trip", f"{reason}: SIGSTOP (paused)")
                self._signal(child, signal.SIGSTOP)
                paused_at, clear_since, blocked_since = now, None, None
                continue
            if paused_at is None:
                continue
            waiting = self._waiting_sessions(current)
            blocked_since = (blocked_since or now) if waiting else None
            if blocked_since is not None and now - blocked_since > spec.max_pause_s:
                self._event("stop", f"{waiting} session(s) waited on a lock for more than "
                            f"{spec.max_pause_s:g} s while paused (the child may hold it):"
                            " stopping instead")
                self._signal(child, signal.SIGCONT)
                paused_at = None
                self._stop(child)
                continue
            if blocking:
                clear_since = None
                continue
            clear_since = clear_since or now
            if now - clear_since >= spec.resume_after_s:
                self._event("resume", f"every rule clear for {spec.resume_after_s:g} s: SIGCONT"
                            f" after {now - paused_at:.1f} s paused")
                self._signal(child, signal.SIGCONT)
                paused_at = None

    def _stop(self, child: subprocess.Popen[bytes], *, by_guard: bool = True) -> None:
        self.tripped_stop = self.tripped_stop or by_guard
        self.stopping = True
        self._signal(child, signal.SIGTERM)
        try:
            child.wait(self.spec.grace_s)
        except subprocess.TimeoutExpired:
            self._event("kill", f"still running after {self.spec.grace_s:g} s: SIGKILL")
            self._signal(child, signal.SIGKILL)
            child.wait()

    @staticmethod
    def _signal(child: subprocess.Popen[bytes], which: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, which)  # the whole group: the command's own children too

    @staticmethod
    def _waiting_sessions(verdicts: Sequence[GateVerdict]) -> int:
        for verdict in verdicts:
            for r in verdict.results:
                if r.rule.metric == "blocked_sessions" and r.value:
                    return int(r.value)
        return 0

    # -- the timeline ---------------------------------------------------------------------------

    def _note_changes(self, before: dict[str, GateVerdict], after: Sequence[GateVerdict]) -> None:
        for verdict in after:
            old = {r.rule.text: r for r in before[verdict.cluster].results} \
                if verdict.cluster in before else {}
            for result in verdict.results:
                self._peak(result)
                was = old.get(result.rule.text)
                if was is None or was.state != result.state:
                    self._event("rule", f"{verdict.cluster}: {result.state} {result.rule.text}"
                                f" = {result.shown}" + (f" ({result.why})" if result.why else ""))

    def _peak(self, result: RuleResult) -> None:
        if result.value is None:
            return
        name = result.rule.metric
        self.peaks[name] = max(self.peaks.get(name, result.value), result.value)

    def _event(self, kind: str, text: str) -> None:
        at = time.time()
        self.timeline.append({"at": round(at, 3), "event": kind, "text": text})
        stamp = f"{time.strftime('%H:%M:%S', time.gmtime(at))} " if self.stamped else ""
        self.say(f"{stamp}guard: {kind}: {text}")


def _state_line(verdicts: Sequence[GateVerdict], paused: bool) -> str:
    held = [v for v in verdicts if not v.go]
    prefix = "PAUSED by the guard; " if paused else ""
    if not held:
        total = sum(len(v.results) for v in verdicts)
        return f"{prefix}rules: GO ({total} rules clear)"
    return f"{prefix}rules: NO-GO: " + "; ".join(f"{v.cluster} {v.reason()}" for v in held)


class GuardJob(Job):
    """A guarded command as a job of the TUI's: its output and timeline in the job's log, the
    rules' state as its current line; x stops the command (SIGTERM, SIGKILL after the grace)."""

    def __init__(self, spec: GuardSpec) -> None:
        spec.check()
        super().__init__(kind="guard", title=" ".join(spec.command)[:80],
                         cluster=", ".join(spec.config.clusters), unit="")
        self.spec = spec
        self.result: dict[str, Any] | None = None

    def run(self) -> Sequence[tuple[str, str]]:
        guard = GuardRun(self.spec, self.log, output=lambda line: self.log(f"| {line}"),
                         cancelled=lambda: self.cancel_requested, on_state=self.set_current,
                         stamped=False)
        code, record = guard.run()
        self.result = record
        if self.cancel_requested:
            raise JobCancelled
        if code == TRIPPED:
            raise OperationFailed(f"stopped by the guard after {record['trips']} trip(s):"
                                  f" exit {code}")
        if code != 0:
            raise OperationFailed(f"the command exited {code}")
        return (("exit", str(code)), ("trips", str(record["trips"])),
                ("seconds", f"{record['duration_s']:.0f}"))
