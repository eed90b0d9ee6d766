"""Errors an operator can fix: each renders as one line and exits 2."""

from __future__ import annotations

from typing import Final


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()


class InputError(Exception):
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


class EnvironmentProblem(Exception):
    """The machine lacks something (a server binary, a free port, disk): one line, exit 2."""

    exit_code = 2
