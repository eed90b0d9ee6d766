"""Messages the poll worker posts to the UI thread."""

from __future__ import annotations

from textual.message import Message

from clustertop.actions.jobs import JobSnapshot
from clustertop.collectors.samples import PollRound


class PollCompleted(Message):
    """One round of samples; a newer round makes a queued older one worthless. `jobs`: the
    jobs as a recording saw them then (a replay), else None (the app's own jobs)."""

    def __init__(self, round_: PollRound, jobs: tuple[JobSnapshot, ...] | None = None) -> None:
        super().__init__()
        self.round = round_
        self.jobs = jobs

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PollCompleted)

