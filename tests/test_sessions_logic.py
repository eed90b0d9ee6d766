"""The engine-free half of Activity: literal masking, blocking trees, metadata-lock waits
inferred from the locks held. (The real servers' chains are in test_activity.py.)"""

from __future__ import annotations

import pytest

from clustertop.collectors.sessions import (
    HeldMetadataLock,
    SessionSample,
    blocking_chains,
    build_sessions_sample,
    mask_literals,
    metadata_lock_waits,
    shown_statement,
)


@pytest.mark.parametrize(
    ("family", "statement", "masked"),
    [
        ("postgres", "SELECT * FROM t WHERE a = 'S3cret' AND b = 42", "SELECT * FROM t WHERE a = ? AND b = ?"),
        ("postgres", "SELECT E'it\\'s' , $$x$$, $t$y$t$, 1.5e3, t2.c1", "SELECT ? , ?, ?, ?, t2.c1"),
        ("postgres", "INSERT INTO t1 VALUES ('it''s', 0x1F)", "INSERT INTO t1 VALUES (?, ?)"),
        ("mysql", 'UPDATE t SET a = "S3cret", b = \'x\' WHERE id = 7', "UPDATE t SET a = ?, b = ? WHERE id = ?"),
        ("mysql", "SELECT `col1` FROM db1.t2 WHERE c = 'a\\'b'", "SELECT `col1` FROM db1.t2 WHERE c = ?"),
        ("postgres", "SELECT 'unterminated S3cret", "SELECT ?"),
    ],
)
def test_literals_are_masked_and_names_kept(family: str, statement: str, masked: str) -> None:
    assert mask_literals(statement, family) == masked


def test_a_shown_statement_is_one_short_line_without_control_characters() -> None:
    shown = shown_statement("SELECT\n  'S3cret'\x1b[2J,\t" + "x" * 500, "postgres", False)
    assert shown is not None and "S3cret" not in shown and "\n" not in shown
    assert "\x1b" not in shown and len(shown) == 200
    assert "S3cret" in (shown_statement("SELECT 'S3cret'", "postgres", True) or "")


def _s(sid: int, blocked_by: tuple[int, ...] = (), xact: float | None = 10.0,
       state: str = "active", statement: str | None = None, ddl: bool = False,
       wait: float | None = None, database: str | None = "db") -> SessionSample:
    return SessionSample(sid, "u", database, None, state, 1.0, xact, None, statement,
                         blocked_by=blocked_by, ddl=ddl, wait_s=wait)


def test_a_chain_has_its_root_first_and_each_waiter_once_under_the_nearest_blocker() -> None:
    # 2 and 3 wait behind 1; InnoDB also names 2 as a blocker of 3 (the queue): 3 hangs
    # under 1, nearest the root.
    chains = blocking_chains([_s(3, (1, 2), wait=1.0), _s(2, (1,), wait=2.0), _s(1), _s(9)])
    assert [(e.depth, e.session.id) for e in chains] == [(0, 1), (1, 2), (1, 3)]


def test_a_cycle_and_an_unread_blocker_still_show() -> None:
    chains = blocking_chains([_s(1, (2,)), _s(2, (1,)), _s(5, (77,))])
    ids = [e.session.id for e in chains]
    assert sorted(ids) == [1, 2, 5] and len(ids) == 3
    sample = build_sessions_sample([_s(1, (2,)), _s(2, (1,))], 2)
    assert sample.root_of(1) is not None  # a cycle does not loop forever


def test_the_oldest_transaction_leaves_clustertops_own_out() -> None:
    own = SessionSample(8, "ct", None, None, "active", 1.0, 500.0, None, None, own=True)
    sample = build_sessions_sample([_s(1, xact=30.0), own, _s(2, xact=None)], 3)
    assert (sample.oldest_xact_s, sample.oldest_xact_session) == (30.0, 1)
    assert not sample.capped and build_sessions_sample([_s(1)], 5).capped


def test_metadata_lock_waits_put_the_alter_behind_the_holder_and_readers_behind_the_alter() -> None:
    waiting = "Waiting for table metadata lock"
    holder = _s(10, state="Sleep")
    alter = _s(11, state=waiting, statement="ALTER TABLE orders ADD COLUMN x int", ddl=True)
    reader = _s(12, state=waiting, statement="SELECT * FROM orders WHERE id = ?")
    other = _s(13, state=waiting, statement="SELECT * FROM orders_archive")
    held = [
        HeldMetadataLock(10, "MDL_SHARED_READ", "db", "orders"),
        HeldMetadataLock(11, "MDL_SHARED_UPGRADABLE", "db", "orders"),
        HeldMetadataLock(20, "MDL_SHARED_READ", "db", "orders_archive"),
    ]
    waits = metadata_lock_waits([holder, alter, reader, other], held)
    assert waits[11] == ((10,), "metadata lock on db.orders")
    assert waits[12] == ((11,), "metadata lock on db.orders")
    assert waits[13] == ((20,), "metadata lock on db.orders_archive")  # a name, not a prefix
