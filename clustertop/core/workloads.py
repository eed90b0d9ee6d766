"""Transaction workloads as data: weighted transactions, each a list of SQL statements whose
`%s` placeholders are filled by typed parameter generators. The built-in shop patterns
(actions/workload/patterns.py) and the config's `[workload.custom.NAME]` are both this.

A generator is written as text, so a config states it in a word or three:

    int LO HI                      a whole number from LO to HI
    key SCHEMA.TABLE.COLUMN [D]    a value the column holds now; D: uniform (default) or
                                   zipf:S (rank k drawn with weight 1/k^S, the first key hottest)
    new SCHEMA.TABLE.COLUMN        a value above the column's largest, never drawn twice
    now [-SECONDS]                 the time now, or a time up to SECONDS before it
    string LENGTH                  LENGTH random hex characters
    choice A B ...                 one of the words
    $NAME                          (a parameter only) the value of the transaction's variable
                                   NAME: drawn once per transaction from its `vars`, or read
                                   by an earlier statement's `into`
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clustertop.core.errors import InputError

GENERATORS = ("int", "key", "new", "now", "string", "choice")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$")
MAX_STRING = 10_000
ZIPF_MAX = 5.0


@dataclass(frozen=True)
class Generator:
    kind: str
    text: str
    low: int = 0
    high: int = 0
    column: str = ""  # key/new: SCHEMA.TABLE.COLUMN
    zipf: float | None = None  # key: the skew stated in the generator itself
    words: tuple[str, ...] = ()


def parse_skew(text: str, where: str = "--skew") -> float | None:
    """uniform -> None; zipf:S -> S (0 < S <= 5)."""
    if text == "uniform":
        return None
    name, _, number = text.partition(":")
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if name != "zipf" or not 0 < value <= ZIPF_MAX:
        raise InputError(where, text, f"a skew is uniform or zipf:S with 0 < S <= {ZIPF_MAX:g}"
                                      " (e.g. zipf:1.1)")
    return value


def parse_generator(text: object, where: str) -> Generator:
    if not isinstance(text, str) or not text.split():
        raise InputError(where, text, f"a generator is text: one of {', '.join(GENERATORS)}")
    words = text.split()
    kind, args = words[0], words[1:]

    def fail(problem: str) -> InputError:
        return InputError(where, text, problem)

    def whole(word: str) -> int:
        try:
            return int(word)
        except ValueError:
            raise fail(f"{word!r} is not a whole number") from None

    if kind == "int":
        if len(args) != 2:
            raise fail("int takes LO HI, e.g. int 1 100")
        low, high = whole(args[0]), whole(args[1])
        if low > high:
            raise fail("LO must be at most HI")
        return Generator(kind, text, low=low, high=high)
    if kind in ("key", "new"):
        if not args or not _COLUMN.match(args[0]) or len(args) > (2 if kind == "key" else 1):
            usage = "SCHEMA.TABLE.COLUMN [uniform|zipf:S]" if kind == "key" else (
                "SCHEMA.TABLE.COLUMN")
            raise fail(f"{kind} takes {usage}")
        zipf = parse_skew(args[1], where) if len(args) == 2 else None
        return Generator(kind, text, column=args[0], zipf=zipf)
    if kind == "now":
        if len(args) > 1 or (args and not args[0].startswith("-")):
            raise fail("now takes nothing or -SECONDS, e.g. now -3600")
        span = -whole(args[0]) if args else 0
        return Generator(kind, text, low=0, high=span)
    if kind == "string":
        if len(args) != 1:
            raise fail("string takes LENGTH, e.g. string 16")
        length = whole(args[0])
        if not 1 <= length <= MAX_STRING:
            raise fail(f"LENGTH must be 1 to {MAX_STRING}")
        return Generator(kind, text, low=length)
    if kind == "choice":
        if not args:
            raise fail("choice takes one or more words, e.g. choice new paid shipped")
        return Generator(kind, text, words=tuple(args))
    raise fail(f"unknown generator {kind!r} (known: {', '.join(GENERATORS)})")


@dataclass(frozen=True)
class Statement:
    sql: str  # %s placeholders; a literal % is written %%
    params: tuple[str, ...] = ()  # a generator's text, or $NAME
    into: tuple[str, ...] = ()  # variables bound to the first row's columns

    @property
    def reads(self) -> bool:
        return self.sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH", "SHOW")


@dataclass(frozen=True)
class Transaction:
    name: str
    weight: int
    statements: tuple[Statement, ...]
    variables: tuple[tuple[str, str], ...] = ()  # NAME, generator text: drawn once per run of it


@dataclass(frozen=True)
class Script:
    """A transaction workload: what runs, with what weights."""

    name: str
    transactions: tuple[Transaction, ...]
    description: str = ""
    origin: str = ""  # where it was written, as errors name it (a config file and key path)

    @property
    def writes(self) -> bool:
        return any(not s.reads for t in self.transactions for s in t.statements)

    def generators(self) -> tuple[Generator, ...]:
        texts = [text for t in self.transactions for _, text in t.variables]
        texts += [p for t in self.transactions for s in t.statements for p in s.params]
        return tuple(parse_generator(text, self.name) for text in texts if not text.startswith("$"))

    def columns(self, kind: str) -> tuple[str, ...]:
        """The SCHEMA.TABLE.COLUMN of every `key` (or `new`) generator, each once."""
        return tuple(dict.fromkeys(g.column for g in self.generators() if g.kind == kind))

    def where(self, column: str) -> str:
        """The key path of the first generator that names `column`, for an error about it."""
        for i, txn in enumerate(self.transactions):
            at = f"{self.origin or self.name}.transactions[{i}]"
            for name, text in txn.variables:
                if column in text.split():
                    return f"{at}.vars.{name}"
            for k, statement in enumerate(txn.statements):
                for p, text in enumerate(statement.params):
                    if column in text.split():
                        return f"{at}.statements[{k}].params[{p}]"
        return self.origin or self.name

    def weights(self) -> dict[str, int]:
        return {t.name: t.weight for t in self.transactions}


def placeholders(sql: str) -> int:
    return sql.replace("%%", "").count("%s")


def check_script(script: Script, where: str) -> Script:
    """Every generator parses, every $NAME is defined before it is used, every statement has
    as many params as placeholders; errors name the key."""
    if not script.transactions:
        raise InputError(f"{where}.transactions", [], "needs at least one transaction")
    names = set()
    for i, txn in enumerate(script.transactions):
        at = f"{where}.transactions[{i}]"
        if not _IDENT.match(txn.name) or txn.name in names:
            raise InputError(f"{at}.name", txn.name, "a unique name of letters, digits and _")
        names.add(txn.name)
        if txn.weight < 1:
            raise InputError(f"{at}.weight", txn.weight, "must be at least 1")
        if not txn.statements:
            raise InputError(f"{at}.statements", [], "needs at least one statement")
        known = set()
        for name, text in txn.variables:
            if not _IDENT.match(name):
                raise InputError(f"{at}.vars", name, "variable names use letters, digits and _")
            parse_generator(text, f"{at}.vars.{name}")
            known.add(name)
        for k, statement in enumerate(txn.statements):
            sat = f"{at}.statements[{k}]"
            wanted = placeholders(statement.sql)
            if "%" in statement.sql.replace("%%", "").replace("%s", ""):
                raise InputError(f"{sat}.sql", statement.sql, "a literal % is written %%")
            if wanted != len(statement.params):
                raise InputError(
                    f"{sat}.params", list(statement.params),
                    f"the SQL has {wanted} %s placeholder(s) but {len(statement.params)} param(s)",
                )
            for p, text in enumerate(statement.params):
                if text.startswith("$"):
                    if text[1:] not in known:
                        raise InputError(f"{sat}.params[{p}]", text,
                                         "no such variable here (define it in vars or by into)")
                else:
                    parse_generator(text, f"{sat}.params[{p}]")
            for name in statement.into:
                if not _IDENT.match(name):
                    raise InputError(f"{sat}.into", name, "variable names use letters, digits, _")
                if not statement.reads:
                    raise InputError(f"{sat}.into", name, "only a SELECT returns a row to read")
                known.add(name)
    return script


def parse_custom(path: str, raw: Mapping[str, Any]) -> Script:
    """[workload.custom.NAME] of the config, as a checked Script. `path` names it in errors."""
    for key in raw:
        if key not in ("description", "transactions"):
            raise InputError(f"{path}.{key}", raw[key], "unknown key (known: description, "
                                                        "transactions)")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise InputError(f"{path}.description", description, "must be text")
    items = raw.get("transactions")
    if not isinstance(items, list) or not items:
        raise InputError(f"{path}.transactions", items,
                         "needs a list of tables: [[workload.custom.NAME.transactions]]")
    transactions = []
    for i, item in enumerate(items):
        at = f"{path}.transactions[{i}]"
        if not isinstance(item, Mapping):
            raise InputError(at, item, "must be a table with name, weight and statements")
        for key in item:
            if key not in ("name", "weight", "vars", "statements"):
                raise InputError(f"{at}.{key}", item[key],
                                 "unknown key (known: name, weight, vars, statements)")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise InputError(f"{at}.weight", weight, "must be a whole number")
        variables = item.get("vars", {})
        if not isinstance(variables, Mapping) or not all(
            isinstance(v, str) for v in variables.values()
        ):
            raise InputError(f"{at}.vars", variables, "must be a table of NAME = \"generator\"")
        raw_statements = item.get("statements")
        if not isinstance(raw_statements, list):
            raise InputError(f"{at}.statements", raw_statements, "must be a list")
        statements = tuple(_statement(f"{at}.statements[{k}]", s)
                           for k, s in enumerate(raw_statements))
        name = item.get("name", f"t{i + 1}")
        if not isinstance(name, str):
            raise InputError(f"{at}.name", name, "must be text")
        transactions.append(
            Transaction(name, weight, statements, tuple((str(k), v) for k, v in variables.items()))
        )
    name = path.rsplit(".", 1)[-1]
    return check_script(Script(name, tuple(transactions), description, path), path)


def _statement(at: str, raw: object) -> Statement:
    if isinstance(raw, str):
        raw = {"sql": raw}
    if not isinstance(raw, Mapping):
        raise InputError(at, raw, "a statement is SQL text or a table {sql, params, into}")
    for key in raw:
        if key not in ("sql", "params", "into"):
            raise InputError(f"{at}.{key}", raw[key], "unknown key (known: sql, params, into)")
    sql = raw.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise InputError(f"{at}.sql", sql, "must be SQL text")
    params = raw.get("params", [])
    into = raw.get("into", [])
    for key, value in (("params", params), ("into", into)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{at}.{key}", value, "must be a list of strings")
    return Statement(sql.strip(), tuple(params), tuple(into))


def describe(script: Script) -> list[str]:
    """A transaction a line: name, share of the weight, what its statements do."""
    total = sum(t.weight for t in script.transactions) or 1
    lines = []
    for txn in script.transactions:
        verbs = [s.sql.split(None, 1)[0].upper() for s in txn.statements]
        lines.append(f"{txn.name:<18} {100 * txn.weight / total:5.1f}%  {' + '.join(verbs)}")
    return lines


def transaction_names(scripts: Sequence[Script]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.name for s in scripts for t in s.transactions))
