"""A recording as the app's sample source: each poll hands the app the recorded round at the
replay's position, in the same PollCompleted message a live poll posts, with the jobs as they
were then. The position moves by the poll interval times the speed at each poll; play/pause,
speed, a step either way and a seek move it otherwise."""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections.abc import Sequence

from clustertop.actions.jobs import JobSnapshot
from clustertop.collectors.samples import PollRound
from clustertop.usecases.record import Recording

SPEEDS = (1.0, 2.0, 10.0, 60.0)
EPSILON_S = 0.001  # a seek typed to the millisecond lands on the round recorded then


class ReplaySource:
    def __init__(self, recording: Recording, interval: float, speed: float = 1.0) -> None:
        self.recording = recording
        self.times = [r.at for r in recording.rounds]
        self.interval = interval
        self.speed = speed
        self.playing = True
        self.position = self.times[0]
        self._first = True
        self._lock = threading.Lock()

    # -- what the app calls --------------------------------------------------------------------

    def poll_round(self) -> PollRound:
        with self._lock:
            if self._first:
                self._first = False
            elif self.playing:
                self.position = min(self.times[-1], self.position + self.interval * self.speed)
                if self.position >= self.times[-1]:
                    self.playing = False  # the end: it stays on the last round
            return self.round_at(self.position)

    def close(self) -> None:
        pass

    def recorded_jobs(self, at: float) -> tuple[JobSnapshot, ...]:
        return self.recording.jobs_at(at)

    # -- the controls ----------------------------------------------------------------------------

    def round_at(self, at: float) -> PollRound:
        index = max(0, bisect.bisect_right(self.times, at + EPSILON_S) - 1)
        return self.recording.rounds[index]

    def rounds_until(self, at: float, most: int) -> Sequence[PollRound]:
        end = bisect.bisect_right(self.times, at + EPSILON_S)
        return self.recording.rounds[max(0, end - most):end]

    def toggle(self) -> None:
        with self._lock:
            if not self.playing and self.position >= self.times[-1]:
                self.position = self.times[0]  # play again from the start
            self.playing = not self.playing

    def faster(self, step: int) -> None:
        with self._lock:
            index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
            self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, index + step))]

    def step(self, rounds: int) -> None:
        """One round forth or back; playing stops, as on a video."""
        with self._lock:
            self.playing = False
            index = max(0, bisect.bisect_right(self.times, self.position) - 1)
            index = max(0, min(len(self.times) - 1, index + rounds))
            self.position = self.times[index]

    def seek(self, text: str) -> float:
        """`14:32:10` (UTC, on the recording's day) or `-5m` / `+30s` from the position; the
        new position. Raises ValueError with what to type."""
        text = text.strip()
        relative = re.fullmatch(r"([+-])(\d+(?:\.\d+)?)(s|m|h)?", text)
        with self._lock:
            if relative:
                sign = -1 if relative.group(1) == "-" else 1
                unit = {"s": 1, "m": 60, "h": 3600}[relative.group(3) or "s"]
                target = self.position + sign * float(relative.group(2)) * unit
            else:
                clock = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
                if not clock:
                    raise ValueError("type a time as 14:32:10 (UTC) or -5m / +30s")
                day = time.gmtime(self.times[0])
                target = time.mktime((day.tm_year, day.tm_mon, day.tm_mday,
                                      int(clock.group(1)), int(clock.group(2)),
                                      int(clock.group(3) or 0), 0, 0, 0)) - time.timezone
            if not self.times[0] - 1 <= target <= self.times[-1] + 1:
                first = time.strftime("%H:%M:%S", time.gmtime(self.times[0]))
                last = time.strftime("%H:%M:%S", time.gmtime(self.times[-1]))
                raise ValueError(f"{text}: the recording runs from {first} to {last} UTC")
            self.position = max(self.times[0], min(self.times[-1], target))
            return self.position

    def status(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.gmtime(self.position))
        state = "playing" if self.playing else "paused"
        index = max(0, bisect.bisect_right(self.times, self.position) - 1)
        return f"REPLAY {stamp}Z x{self.speed:g} {state} {index + 1}/{len(self.times)}"
