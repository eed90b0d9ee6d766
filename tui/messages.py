"""Messages the poll worker posts to the UI thread."""

from __future__ import annotations

from textual.message import Message

from clustertop.collectors.samples import PollRound


class PollCompleted(Message):
    """One round of samples; a newer round makes a queued older one worthless."""

    def __init__(self, round_: PollRound) -> None:
        super().__init__()
        self.round = round_

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PollCompleted)

