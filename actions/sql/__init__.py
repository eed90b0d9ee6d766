"""SQL text of the actions, one module per engine family; statements_for() picks a node's."""

from __future__ import annotations

from types import ModuleType


def statements_for(family: str) -> ModuleType:
    from clustertop.actions.sql import mysql, postgres

    return mysql if family == "mysql" else postgres
