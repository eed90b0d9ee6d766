"""Sessions, blocking chains and the progress of long server-side operations: the samples and
the engine-free logic (literal masking, the blocking tree, metadata-lock waits inferred from
the locks held). Each engine's adapter reads the rows; this module turns them into samples.

Statements are masked here, in the collector, so that no sample (and so no screen, recording,
export or metric) ever holds a literal unless `[ui] show_literals = true`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from clustertop.core.text import printable

STATEMENT_CHARS = 200
SESSIONS_CAP = 200  # rows read per node and poll; the total is counted apart

# Literals in SQL text: quoted strings (with doubled or backslashed quotes), dollar-quoted
# bodies, hexadecimal and numeric constants not part of a name. Double quotes are names in
# PostgreSQL and strings in MySQL (without ANSI_QUOTES).
_PG_LITERALS = re.compile(
    r"(?:[eEbBxXnN]?'(?:[^'\\]|\\.|'')*'?)"  # '...', E'...', also an unterminated one
    r"|(?:\$((?:[A-Za-z_]\w*)?)\$.*?(?:\$\1\$|$))"  # $$...$$, $tag$...$tag$
    r"|(?<![\w$.])(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)(?![\w$])",
    re.DOTALL,
)
_MYSQL_LITERALS = re.compile(
    r"(?:[xXbBnN]?'(?:[^'\\]|\\.|'')*'?)"
    r'|(?:"(?:[^"\\]|\\.|"")*"?)'
    r"|(?<![\w$.`])(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)(?![\w$`])",
    re.DOTALL,
)
_DDL = re.compile(
    r"^\s*(?:/\*.*?\*/\s*)*(ALTER|CREATE\s+(?:UNIQUE\s+)?INDEX|DROP|TRUNCATE|RENAME|OPTIMIZE|"
    r"LOCK\s+TABLES?|CLUSTER|VACUUM\s+FULL|REINDEX)\b",
    re.IGNORECASE | re.DOTALL,
)


def mask_literals(statement: str, family: str) -> str:
    """The statement with every literal replaced by `?` (the shape stays readable)."""
    pattern = _MYSQL_LITERALS if family == "mysql" else _PG_LITERALS
    return pattern.sub("?", statement)


def shown_statement(statement: str | None, family: str, show_literals: bool) -> str | None:
    """What a sample keeps of a statement: literals masked (unless asked not to), one line,
    control characters escaped, at most STATEMENT_CHARS."""
    if statement is None:
        return None
    text = statement if show_literals else mask_literals(statement, family)
    text = printable(" ".join(text.split()))
    return text[:STATEMENT_CHARS]


def is_ddl(statement: str | None) -> bool:
    return bool(statement) and _DDL.match(statement or "") is not None


@dataclass(frozen=True)
class SessionSample:
    id: int
    user: str | None
    database: str | None
    client: str | None
    state: str | None  # PostgreSQL's state; MySQL's command (and its state when it has one)
    state_s: float | None  # time in that state
    xact_s: float | None  # age of its open transaction; None: none open
    wait: str | None  # what it waits on now (an event, a lock), or None
    statement: str | None  # masked unless show_literals, at most STATEMENT_CHARS
    own: bool = False  # one of clustertop's own connections
    program: str | None = None  # application_name / program_name
    blocked_by: tuple[int, ...] = ()  # the sessions it waits behind
    lock: str | None = None  # what it waits for: "row lock on shop.t", "metadata lock ..."
    wait_s: float | None = None  # how long it has waited for that lock
    ddl: bool = False  # its statement changes a table's definition (or takes it whole)

    @property
    def idle(self) -> bool:
        """Idle with no transaction open (an idle transaction holds locks: never hidden)."""
        return (self.state or "").lower() in ("idle", "sleep") and self.xact_s is None

    @property
    def idle_in_transaction(self) -> bool:
        state = (self.state or "").lower()
        return state.startswith("idle in transaction") or (
            state == "sleep" and self.xact_s is not None
        )

    @property
    def waiting(self) -> bool:
        return bool(self.blocked_by)


@dataclass(frozen=True)
class ProgressSample:
    """A long server-side operation: what it is, on what, how far, in the server's own unit."""

    session_id: int
    operation: str  # CREATE INDEX, VACUUM, ALTER TABLE, COPY FROM, ...
    target: str | None  # the table
    phase: str | None
    done: float | None
    total: float | None
    unit: str  # blocks, tuples, bytes, percent, stages

    @property
    def fraction(self) -> float | None:
        if self.done is None or not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))


@dataclass(frozen=True)
class ChainEntry:
    """One line of a blocking tree: a session at a depth (0: a root blocker)."""

    depth: int
    session: SessionSample


@dataclass(frozen=True)
class SessionsSample:
    sessions: tuple[SessionSample, ...]  # worst first: waiting, then the oldest work
    total: int  # sessions on the node, before the cap
    capped: bool  # more sessions than were read (SESSIONS_CAP)
    oldest_xact_s: float | None  # the oldest open transaction (it holds back purge/vacuum)
    oldest_xact_session: int | None
    progress: tuple[ProgressSample, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be read, and how to fix it
    chains: tuple[ChainEntry, ...] = field(default_factory=tuple)

    @property
    def blocked(self) -> int:
        return sum(1 for s in self.sessions if s.waiting)

    def session(self, session_id: int) -> SessionSample | None:
        return next((s for s in self.sessions if s.id == session_id), None)

    def root_of(self, session_id: int) -> SessionSample | None:
        """The session at the head of the chain this one waits in (itself when not waiting)."""
        seen: set[int] = set()
        current = self.session(session_id)
        while current is not None and current.blocked_by and current.id not in seen:
            seen.add(current.id)
            ahead = [self.session(b) for b in current.blocked_by]
            known = [s for s in ahead if s is not None]
            if not known:
                break
            current = known[0]
        return current


def blocking_chains(sessions: Sequence[SessionSample]) -> tuple[ChainEntry, ...]:
    """Every chain as a tree: each root blocker (blocks someone, waits on no one it can see;
    in a cycle, its lowest id) first, then everyone waiting behind it, indented, each once."""
    by_id = {s.id: s for s in sessions}
    waiters: dict[int, list[SessionSample]] = {}
    for s in sessions:
        for blocker in s.blocked_by:
            waiters.setdefault(blocker, []).append(s)
    roots = [
        by_id[b]
        for b in waiters
        if b in by_id and not any(x in by_id for x in by_id[b].blocked_by)
    ]
    # A blocker we could not read (past the cap, or a prepared transaction): its waiters lead.
    roots += [s for s in sessions if s.blocked_by and not any(b in by_id for b in s.blocked_by)]
    # Each waiter hangs under the blocker nearest a root (breadth first): behind a row lock,
    # InnoDB names both the holder and the requests queued before; the holder is the cause.
    children: dict[int, list[SessionSample]] = {}
    placed: set[int] = set()
    ordered_roots = sorted(roots, key=lambda s: -(s.xact_s or s.state_s or 0.0))
    leftovers = sorted((s for s in sessions if s.blocked_by), key=lambda s: s.id)
    for start in [*ordered_roots, *leftovers]:  # leftovers: a cycle the server has not broken
        if start.id in placed:
            continue
        placed.add(start.id)
        children.setdefault(-1, []).append(start)
        level = [start]
        while level:
            following = []
            for ahead in level:
                for waiter in sorted(waiters.get(ahead.id, []), key=_longest_wait):
                    if waiter.id not in placed:
                        placed.add(waiter.id)
                        children.setdefault(ahead.id, []).append(waiter)
                        following.append(waiter)
            level = following
    entries: list[ChainEntry] = []

    def emit(session: SessionSample, depth: int) -> None:
        entries.append(ChainEntry(depth, session))
        for child in children.get(session.id, []):
            emit(child, depth + 1)

    for root in children.get(-1, []):
        emit(root, 0)
    return tuple(entries)


def _longest_wait(session: SessionSample) -> float:
    return -(session.wait_s or session.state_s or 0.0)


def worst_first(sessions: Iterable[SessionSample]) -> list[SessionSample]:
    """Waiting sessions first, then by how long their work (transaction, or state) has run."""
    return sorted(
        sessions,
        key=lambda s: (not s.waiting, s.idle, -(s.xact_s or 0.0), -(s.state_s or 0.0)),
    )


def build_sessions_sample(
    sessions: Sequence[SessionSample],
    total: int,
    progress: Sequence[ProgressSample] = (),
    notes: Sequence[str] = (),
) -> SessionsSample:
    ordered = worst_first(sessions)
    open_xacts = [s for s in ordered if s.xact_s is not None and not s.own]
    oldest = max(open_xacts, key=lambda s: s.xact_s or 0.0, default=None)
    return SessionsSample(
        sessions=tuple(ordered),
        total=total,
        capped=total > len(ordered),
        oldest_xact_s=oldest.xact_s if oldest else None,
        oldest_xact_session=oldest.id if oldest else None,
        progress=tuple(progress),
        notes=tuple(notes),
        chains=blocking_chains(ordered),
    )


# -- MySQL/MariaDB metadata locks ----------------------------------------------------------------

MDL_WAIT = "metadata lock"


@dataclass(frozen=True)
class HeldMetadataLock:
    session_id: int
    mode: str
    schema: str
    table: str


def metadata_lock_waits(
    sessions: Sequence[SessionSample], held: Sequence[HeldMetadataLock]
) -> dict[int, tuple[tuple[int, ...], str]]:
    """Who each metadata-lock waiter waits behind, and on what: MariaDB's METADATA_LOCK_INFO
    lists granted locks only. A DDL statement waits behind every other session holding a lock
    on its table; a statement queued behind a waiting DDL (the classic outage: one long
    transaction, one ALTER, then every query on the table) waits behind that DDL."""
    waiting = [s for s in sessions if s.state and MDL_WAIT in s.state.lower()]
    waiting_ids = {s.id for s in waiting}
    by_table: dict[tuple[str, str], set[int]] = {}
    for lock in held:
        by_table.setdefault((lock.schema, lock.table), set()).add(lock.session_id)
    result: dict[int, tuple[tuple[int, ...], str]] = {}
    for waiter in waiting:
        tables = _tables_of(waiter, held, by_table)
        blockers: set[int] = set()
        for table in tables:
            holders = by_table.get(table, set()) - {waiter.id}
            if waiter.ddl:
                blockers |= holders - waiting_ids
            else:
                ddl_ahead = {
                    s.id for s in waiting
                    if s.ddl and s.id != waiter.id and table in _tables_of(s, held, by_table)
                }
                blockers |= ddl_ahead or (holders - waiting_ids)
        names = ", ".join(f"{schema}.{table}" for schema, table in sorted(tables))
        result[waiter.id] = (tuple(sorted(blockers)), f"{MDL_WAIT} on {names or '?'}")
    return result


def _tables_of(
    waiter: SessionSample,
    held: Sequence[HeldMetadataLock],
    by_table: dict[tuple[str, str], set[int]],
) -> set[tuple[str, str]]:
    """The tables a waiter wants: those it already holds a lock on (an ALTER holds a shared
    upgradable one while it waits to upgrade), else those its statement names."""
    own = {(h.schema, h.table) for h in held if h.session_id == waiter.id}
    if own:
        return own
    text = (waiter.statement or "").lower()
    return {
        (schema, table) for schema, table in by_table
        if re.search(rf"(?<![\w$]){re.escape(table.lower())}(?![\w$])", text)
        and (waiter.database in (None, schema) or schema.lower() in text)
    }
