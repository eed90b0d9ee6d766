"""Recordings: every round (details included) and every job's progress, in one SQLite file with
zstd-compressed payloads. The first TRAIN_ROUNDS rounds are compressed plainly; from then on
with a dictionary trained on them (stored in the file), which is what makes a round of mostly
repeated names and shapes small. Each round is committed as it comes (WAL), so a recorder
killed mid-write loses at most the round in flight. Bounded by size and age like Dolphie's
retention: the oldest rounds go first.

A recording holds what the samples hold: no password or DSN (a sample has none), and
statement texts as the collectors read them (literals masked unless `show_literals`)."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from clustertop.actions.jobs import JobSnapshot
from clustertop.collectors.codec import decode, encode
from clustertop.collectors.samples import PollRound
from clustertop.core.errors import InputError

FORMAT = 1
TRAIN_ROUNDS = 30
# A node's detail pass (tables, statements, shards) is refreshed every few seconds, but every
# round carries the latest one: a round whose detail is the one already stored says so
# instead, and the whole is written again at least this often (what pruning may cut).
FULL_DETAIL_EVERY = 60
VACUUM_BELOW = 64 * 1024 * 1024  # bytes: a file this small is compacted when it is closed
SAME = "__same_detail_as__"
TIMING = ("at", "duration_ms")  # what differs between two detail passes that found the same
# A bigger dictionary overfits the first rounds: 64 KiB compressed worse (560 B a round
# against 337 for two MariaDB nodes).
DICT_BYTES = 16 * 1024
LEVEL = 19
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS dictionaries (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    # The round's time in milliseconds is the table's own key (a rowid alias): no index of
    # its own to store, and the file's order is time order.
    "CREATE TABLE IF NOT EXISTS rounds (at_ms INTEGER PRIMARY KEY, dict INTEGER NOT NULL,"
    " payload BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS jobs (at REAL NOT NULL, job INTEGER NOT NULL, dict INTEGER NOT"
    " NULL, payload BLOB NOT NULL, PRIMARY KEY (job, at))",
)


class Recorder:
    """Writes rounds and job snapshots to FILE; `close()` flushes and closes cleanly."""

    def __init__(self, path: str | os.PathLike[str], *, clusters: Sequence[str] = (),
                 max_bytes: int | None = None, keep_s: float | None = None) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(self.path, check_same_thread=False)
            for statement in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", *SCHEMA):
                self.db.execute(statement)
        except sqlite3.Error as exc:
            raise InputError("--out", str(path), f"cannot record there: {exc}") from None
        self.max_bytes, self.keep_s = max_bytes, keep_s
        self._meta("format", str(FORMAT))
        self._meta("clusters", json.dumps(list(clusters)))
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('started', ?)", (str(time.time()),))
        self.db.commit()
        self._samples: list[bytes | bytearray | memoryview] = []
        self._dict_id = 0
        self._plain = zstandard.ZstdCompressor(level=LEVEL)
        self._trained: zstandard.ZstdCompressor | None = None
        self._jobs_seen: dict[int, tuple[float, str, float]] = {}
        # node -> (the detail stored in full, less its timing; its at; rounds since)
        self._details: dict[str, tuple[Any, Any, int]] = {}
        self.rounds = 0
        self.bytes_written = 0

    def _meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _compress(self, raw: bytes) -> tuple[int, bytes]:
        if self._trained is not None:
            return self._dict_id, self._trained.compress(raw)
        return 0, self._plain.compress(raw)

    def add_round(self, round_: PollRound, jobs: Sequence[JobSnapshot] = ()) -> None:
        data = encode(round_, compact=True)
        for node in data["nodes"]:
            detail = node.get("detail")
            if detail is None:
                continue
            key = f"{node['cluster']}/{node['node']}"
            body = {k: v for k, v in detail.items() if k not in TIMING}
            last = self._details.get(key)
            if last is not None and last[0] == body and last[2] < FULL_DETAIL_EVERY:
                # The same figures (a new pass that found nothing changed, or the same pass):
                # only its timing is new.
                node["detail"] = {SAME: last[1], **{k: detail.get(k) for k in TIMING}}
                self._details[key] = (last[0], last[1], last[2] + 1)
            else:
                self._details[key] = (body, detail["at"], 0)
        raw = json.dumps(data, separators=(",", ":")).encode()
        dict_id, payload = self._compress(raw)
        self.db.execute("INSERT OR REPLACE INTO rounds VALUES (?, ?, ?)",
                        (_ms(round_.at), dict_id, payload))
        for job in jobs:
            self._add_job(job, round_.at)
        self.db.commit()
        self.rounds += 1
        self.bytes_written += len(payload)
        if self._trained is None:
            self._samples.append(raw)
            if len(self._samples) >= TRAIN_ROUNDS:
                self._train()
        self._prune(round_.at)

    def _add_job(self, job: JobSnapshot, at: float) -> None:
        """A job's snapshot, when something about it changed since the last one kept."""
        key = (job.done, job.state, float(len(job.log)))
        if self._jobs_seen.get(job.id) == key:
            return
        self._jobs_seen[job.id] = key
        raw = json.dumps(encode(job, compact=True), separators=(",", ":")).encode()
        dict_id, payload = self._compress(raw)
        self.db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)",
                        (at, job.id, dict_id, payload))

    def _train(self) -> None:
        data = zstandard.train_dictionary(DICT_BYTES, self._samples)
        cursor = self.db.execute("INSERT INTO dictionaries (data) VALUES (?)",
                                 (data.as_bytes(),))
        self._dict_id = int(cursor.lastrowid or 0)
        self._trained = zstandard.ZstdCompressor(level=LEVEL, dict_data=data)
        # The rounds it was trained on, compressed again with it: a sixth of their size.
        plain = zstandard.ZstdDecompressor()
        for at_ms, payload in self.db.execute(
                "SELECT at_ms, payload FROM rounds WHERE dict = 0").fetchall():
            again = self._trained.compress(plain.decompress(payload))
            self.db.execute("UPDATE rounds SET dict = ?, payload = ? WHERE at_ms = ?",
                            (self._dict_id, again, at_ms))
        self.db.commit()
        self._samples = []

    def _prune(self, now: float) -> None:
        if self.keep_s is not None:
            self.db.execute("DELETE FROM rounds WHERE at_ms < ?", (_ms(now - self.keep_s),))
            self.db.execute("DELETE FROM jobs WHERE at < ?", (now - self.keep_s,))
        if self.max_bytes is not None and self.rounds % 10 == 0:
            size = self.db.execute("SELECT coalesce(sum(length(payload)), 0) FROM rounds"
                                   ).fetchone()[0]
            if size > self.max_bytes:
                # The oldest rounds, just enough of them to be back under the limit.
                cut, freed = None, 0
                for at, length in self.db.execute(
                        "SELECT at_ms, length(payload) FROM rounds ORDER BY at_ms"):
                    cut, freed = at, freed + length
                    if size - freed <= self.max_bytes:
                        break
                if cut is not None:
                    self.db.execute("DELETE FROM rounds WHERE at_ms <= ?", (cut,))
                    self.db.execute("DELETE FROM jobs WHERE at <= ?", (cut / 1000,))
        self.db.commit()

    def close(self) -> None:
        self._meta("ended", str(time.time()))
        self.db.commit()
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, size = (self.db.execute(f"PRAGMA {p}").fetchone()[0]
                       for p in ("page_count", "page_size"))
        if pages * size <= VACUUM_BELOW:
            # Pages the first rounds left half empty (compressed again, smaller) and pruned
            # ones: given back, once, while the file is small enough to rewrite quickly.
            self.db.execute("VACUUM")
        self.db.close()


# -- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """What a file holds that could be read, and what could not (said in one line)."""

    rounds: tuple[PollRound, ...]
    jobs: tuple[tuple[float, JobSnapshot], ...]  # (recorded at, snapshot), in time order
    clusters: tuple[str, ...]
    lost: str | None  # what was unreadable, or None

    def jobs_at(self, at: float) -> tuple[JobSnapshot, ...]:
        """Every job as it was at `at` (its last snapshot up to then)."""
        latest: dict[int, JobSnapshot] = {}
        for when, job in self.jobs:
            if when > at:
                break
            latest[job.id] = job
        return tuple(latest.values())


def read(path: str | os.PathLike[str]) -> Recording:
    file = Path(path)
    if not file.is_file():
        raise InputError("FILE", str(path), "no such recording")
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="clustertop-replay-") as scratch:
        try:
            db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
            db.execute("SELECT count(*) FROM rounds").fetchone()
        except sqlite3.DatabaseError as exc:
            salvaged = _salvage(file, Path(scratch))
            if salvaged is None:
                raise InputError("FILE", str(path), f"not a clustertop recording: {exc}"
                                 ) from None
            problems.append(f"the file is cut short ({exc}): read up to where it ends")
            db = sqlite3.connect(f"file:{salvaged}?mode=ro", uri=True)
        return _read(db, path, problems)


def _salvage(file: Path, scratch: Path) -> Path | None:
    """A copy of a truncated database that SQLite opens: whole pages only, and the header's
    page count set to what is there. None when it is not an SQLite file at all."""
    data = file.read_bytes()
    if len(data) < 100 or not data.startswith(b"SQLite format 3\x00"):
        return None
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = len(data) // page_size
    if pages < 2:
        return None
    fixed = bytearray(data[: pages * page_size])
    fixed[28:32] = pages.to_bytes(4, "big")
    copy = scratch / "salvaged.db"
    copy.write_bytes(bytes(fixed))
    return copy


def _read(db: sqlite3.Connection, path: str | os.PathLike[str], problems: list[str]
          ) -> Recording:
    try:
        dictionaries = _dictionaries(db, problems)
        # In the order written (the table's own order, no index to read): what a damaged
        # file still holds comes out whole up to the damage.
        rounds = tuple(sorted(_rows(db, "SELECT at_ms / 1000.0, dict, payload FROM rounds",
                                    dictionaries, PollRound, problems, "round",
                                    _DetailRestorer()), key=lambda r: r.at))
        jobs = tuple(sorted(_timed(db, "SELECT at, dict, payload FROM jobs", dictionaries,
                                   problems), key=lambda pair: (pair[0], pair[1].id)))
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'clusters'").fetchone()
            clusters = tuple(json.loads(row[0])) if row else ()
        except (sqlite3.DatabaseError, ValueError):
            clusters = ()
    finally:
        db.close()
    if not rounds and problems:
        raise InputError("FILE", str(path), f"nothing readable: {problems[0]}")
    lost = None
    if problems:
        lost = f"{len(problems)} unreadable part(s) skipped, first: {problems[0]}"
    return Recording(rounds, jobs, clusters, lost)


def _dictionaries(db: sqlite3.Connection, problems: list[str]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    try:
        for ident, data in db.execute("SELECT id, data FROM dictionaries"):
            found[int(ident)] = zstandard.ZstdCompressionDict(bytes(data))
    except sqlite3.DatabaseError as exc:
        problems.append(f"dictionaries: {exc}")
    return found


def _decompress(dictionaries: dict[int, Any], dict_id: int, payload: bytes) -> Any:
    if dict_id == 0:
        raw = zstandard.ZstdDecompressor().decompress(payload)
    else:
        raw = zstandard.ZstdDecompressor(dict_data=dictionaries[dict_id]).decompress(payload)
    return json.loads(raw)


class _DetailRestorer:
    """Puts back the detail a round only referred to (the node's last one stored)."""

    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    def __call__(self, data: Any) -> Any:
        for node in data.get("nodes", ()):
            detail = node.get("detail")
            key = f"{node.get('cluster')}/{node.get('node')}"
            if isinstance(detail, dict) and SAME in detail:
                kept = self.last.get(key)
                if kept is not None and kept.get("at") == detail[SAME]:
                    node["detail"] = {**kept, **{k: detail.get(k) for k in TIMING}}
                else:
                    node["detail"] = None  # its full copy was pruned or unreadable
            elif detail is not None:
                self.last[key] = detail
        return data


def _rows(db: sqlite3.Connection, query: str, dictionaries: dict[int, Any], cls: type,
          problems: list[str], what: str,
          prepare: Any = lambda data: data) -> Iterator[Any]:
    try:
        cursor = db.execute(query)
    except sqlite3.DatabaseError as exc:
        problems.append(f"{what}s: {exc}")
        return
    while True:
        try:
            row = cursor.fetchone()
        except sqlite3.DatabaseError as exc:
            problems.append(f"{what}s after the last readable one: {exc}")
            return
        if row is None:
            return
        at, dict_id, payload = row
        try:
            yield decode(cls, prepare(_decompress(dictionaries, int(dict_id), bytes(payload))))
        except (zstandard.ZstdError, KeyError, ValueError, TypeError) as exc:
            stamp = time.strftime("%H:%M:%S", time.gmtime(float(at)))
            problems.append(f"{what} at {stamp}Z: {type(exc).__name__}: {exc}")


def _timed(db: sqlite3.Connection, query: str, dictionaries: dict[int, Any],
           problems: list[str]) -> Iterator[tuple[float, JobSnapshot]]:
    try:
        rows = db.execute(query).fetchall()
    except sqlite3.DatabaseError as exc:
        problems.append(f"jobs: {exc}")
        return
    for at, dict_id, payload in rows:
        try:
            yield float(at), decode(JobSnapshot, _decompress(dictionaries, int(dict_id),
                                                             bytes(payload)))
        except (zstandard.ZstdError, KeyError, ValueError, TypeError) as exc:
            problems.append(f"a job snapshot: {type(exc).__name__}: {exc}")


def recordings_dir() -> Path:
    """Where the TUI's R puts recordings: beside the run records."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    folder = Path(os.environ.get("CLUSTERTOP_RECORDINGS_DIR")
                  or Path(base) / "clustertop" / "recordings")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _ms(at: float) -> int:
    return round(at * 1000)
