"""The errors clustertop expects, under one root: each renders as one line, never a traceback.
Bad input and a machine that lacks something exit 2; an operation that failed for a reason the
operator can read (a refused connection, a job already running) exits 1."""

from __future__ import annotations

from typing import Final


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()


class ClustertopError(Exception):
    """The root: an error clustertop expects and can say in one line."""

    exit_code = 1


class OperationFailed(ClustertopError):
    """A change or a read that failed for a reason outside clustertop (a node refused, a job
    failed, one is already running): one line naming what, exit 1."""


class InputError(ClustertopError):
    """Bad input (config, flag, DSN, table name).

    `where` names the field (a file and key path, a flag), `value` is what was given, or
    MISSING when nothing was. The message is one line so the CLI prints it without a traceback.
    """

    exit_code = 2

    def __init__(self, where: str, value: object, problem: str) -> None:
        self.where = where
        self.value = value
        self.problem = problem
        text = f"{where}: {problem}"
        if value is not MISSING:
            text += f" (got {value!r})"
        super().__init__(" ".join(text.split()))


class EnvironmentProblem(ClustertopError):
    """The machine lacks something (a server binary, a free port, disk): one line, exit 2."""

    exit_code = 2
