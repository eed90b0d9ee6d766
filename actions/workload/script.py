"""Running a transaction workload (core.workloads.Script): what it needs read from the server
first (the keys its `key` generators draw from, the largest values its `new` generators go
above), and one connection's draws and statements.

Keys are read once by the job and handed to every connection, in this process or a worker
process: a list of a million integers crosses a process boundary in a few milliseconds.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from clustertop.actions.workload.table import naive_utc, utc_now
from clustertop.collectors.engines import adapter_for, family_adapter
from clustertop.collectors.errors import close_quietly
from clustertop.core.errors import InputError
from clustertop.core.nodes import NodeSpec
from clustertop.core.workloads import Generator, Script, Statement, parse_generator

MAX_KEYS = 1_000_000  # keys read per `key` column: enough for any skew to be meaningful
# `new` values start this far above the column's largest, one stride per connection, so no
# two connections (in any process) draw the same value.
NEW_HEADROOM = 1_000_000


@dataclass(frozen=True)
class ScriptData:
    """What the job read before the run: keys per column (ascending) and `new` bases."""

    script: Script
    keys: Mapping[str, tuple[int, ...]]
    new_base: Mapping[str, int]


def read_script_data(conn: Any, family: str, script: Script) -> ScriptData:
    """Keys and bases of every column the script's generators name; a missing table or column,
    or a key column with no rows, is bad input naming it."""
    quote = family_adapter(family).quote
    keys: dict[str, tuple[int, ...]] = {}
    bases: dict[str, int] = {}

    def fetch(statement: str, column: str) -> list[Any]:
        try:
            if family == "mysql":
                with conn.cursor() as cur:
                    cur.execute(statement)
                    return list(cur.fetchall())
            return list(conn.execute(statement).fetchall())
        except Exception as exc:  # the server's words: no such table, column, schema
            if family != "mysql":
                conn.rollback()
            reason = (str(exc).strip().splitlines() or ["?"])[0][:160]
            if script.origin.startswith("pattern "):
                reason += " (load the shop data set: clustertop load --dataset shop)"
            raise InputError(script.where(column), column, f"cannot read it: {reason}") from None

    def qualified(column: str) -> tuple[str, str]:
        schema, table, name = column.split(".")
        return f"{quote(schema)}.{quote(table)}", quote(name)

    for column in script.columns("key"):
        table, name = qualified(column)
        rows = fetch(f"SELECT DISTINCT {name} FROM {table} ORDER BY {name} LIMIT {MAX_KEYS}",
                     column)
        values = tuple(int(r[0]) for r in rows if r[0] is not None)
        if not values:
            raise InputError(script.where(column), column,
                             "has no rows to draw keys from (load the data set first)")
        keys[column] = values
    for column in script.columns("new"):
        table, name = qualified(column)
        rows = fetch(f"SELECT MAX({name}) FROM {table}", column)
        bases[column] = int(rows[0][0] or 0) if rows else 0
    if family != "mysql":
        conn.rollback()
    return ScriptData(script, keys, bases)


def check_script(node: NodeSpec, script: Script) -> ScriptData:
    """Every table and column the script draws from is there and has rows: said as bad input
    before any connection of the run opens."""
    conn = adapter_for(node).connect(node, connect_timeout=5)
    try:
        return read_script_data(conn, node.family, script)
    finally:
        close_quietly(conn)


class Zipf:
    """Ranks 0..n-1 drawn with weight 1/(rank+1)^s: rank 0 the hottest."""

    _cache: dict[tuple[int, float], list[float]] = {}

    def __init__(self, n: int, s: float) -> None:
        cumulative = self._cache.get((n, s))
        if cumulative is None:
            cumulative = list(itertools.accumulate((k + 1) ** -s for k in range(n)))
            self._cache[(n, s)] = cumulative
        self.cumulative = cumulative
        self.total = cumulative[-1]

    def rank(self, rng: random.Random) -> int:
        return min(bisect.bisect_left(self.cumulative, rng.random() * self.total),
                   len(self.cumulative) - 1)


class KeyDraw:
    """Keys of one column: uniform, or zipfian over the keys in ascending order."""

    def __init__(self, keys: Sequence[int], skew: float | None) -> None:
        self.keys = keys
        self.zipf = Zipf(len(keys), skew) if skew else None

    def draw(self, rng: random.Random) -> int:
        if self.zipf is None:
            return self.keys[int(rng.random() * len(self.keys))]
        return self.keys[self.zipf.rank(rng)]


class ScriptOperations:
    """One connection's share of a transaction workload: its draws, its `new` counters."""

    def __init__(self, data: ScriptData, family: str, index: int, connections: int,
                 skew: float | None) -> None:
        self.family = family
        self.by_name = {t.name: t for t in data.script.transactions}
        self.kinds = list(self.by_name)
        self.weights = [t.weight for t in data.script.transactions]
        self.stride = connections
        self.next_new = {column: base + NEW_HEADROOM + index
                         for column, base in data.new_base.items()}
        self.generators: dict[str, Generator] = {}
        self.draws: dict[str, KeyDraw] = {}
        for txn in data.script.transactions:
            texts = [text for _, text in txn.variables]
            texts += [p for s in txn.statements for p in s.params if not p.startswith("$")]
            for text in texts:
                if text in self.generators:
                    continue
                gen = self.generators[text] = parse_generator(text, txn.name)
                if gen.kind == "key" and text not in self.draws:
                    # A skew stated in the generator wins; else --skew; else uniform.
                    self.draws[text] = KeyDraw(data.keys[gen.column], gen.zipf or skew)
        # Each statement's parameters, resolved once: a variable's name or a generator.
        self.plans: dict[int, list[tuple[bool, str]]] = {}

    def value(self, text: str, rng: random.Random) -> Any:
        gen = self.generators[text]
        kind = gen.kind
        if kind == "key":
            return self.draws[text].draw(rng)
        if kind == "int":
            return rng.randint(gen.low, gen.high)
        if kind == "new":
            value = self.next_new[gen.column]
            self.next_new[gen.column] = value + self.stride
            return value
        if kind == "now":
            moment = utc_now()
            if gen.high:
                moment -= timedelta(seconds=rng.random() * gen.high)
            return naive_utc(moment) if self.family == "mysql" else moment
        if kind == "string":
            return f"{rng.getrandbits(4 * gen.low):0{gen.low}x}"[: gen.low]
        return rng.choice(gen.words)

    def _args(self, statement: Statement, variables: Mapping[str, Any],
              rng: random.Random) -> list[Any]:
        return [variables[p[1:]] if p.startswith("$") else self.value(p, rng)
                for p in statement.params]

    def operate(self, statements: Any, kind: str, rng: random.Random) -> str:
        """Run one transaction of `kind` to its commit; on any error it is rolled back and the
        error raised to be counted."""
        txn = self.by_name[kind]
        variables = {name: self.value(text, rng) for name, text in txn.variables}
        single = len(txn.statements) == 1
        if not single:
            statements.begin()
        try:
            for statement in txn.statements:
                args = self._args(statement, variables, rng)
                if statement.into:
                    row = statements.fetch_one(statement.sql, args)
                    if row is None:
                        raise LookupError(f"{kind}: no row for {', '.join(statement.into)}")
                    variables.update(zip(statement.into, row, strict=False))
                else:
                    statements.run(statement.sql, args)
            if not single:
                statements.commit()
        except BaseException:
            if not single:
                statements.rollback()
            raise
        return kind
