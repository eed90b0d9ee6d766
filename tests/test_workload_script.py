"""The parts of a transaction workload that need no server: generators parsed (or refused in
a line naming the key), placeholders counted, keys drawn with the skew asked for."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from clustertop.actions.workload.driver import _numbered
from clustertop.actions.workload.script import KeyDraw
from clustertop.core.errors import InputError
from clustertop.core.workloads import parse_custom, parse_generator, parse_skew


def _share_of_top_percent(draws: list[int], keys: int) -> float:
    counts = sorted(Counter(draws).values(), reverse=True)
    return sum(counts[: keys // 100]) / len(draws)


def test_zipf_1_1_puts_half_the_draws_on_1_percent_of_10000_keys_and_uniform_does_not() -> None:
    keys = list(range(1, 10_001))
    rng = random.Random(5)
    skewed = KeyDraw(keys, 1.1)
    flat = KeyDraw(keys, None)
    skewed_draws = [skewed.draw(rng) for _ in range(50_000)]
    flat_draws = [flat.draw(rng) for _ in range(50_000)]
    assert _share_of_top_percent(skewed_draws, len(keys)) >= 0.5
    assert _share_of_top_percent(flat_draws, len(keys)) < 0.05
    assert Counter(skewed_draws).most_common(1)[0][0] == 1  # the lowest key is the hottest
    assert set(flat_draws) <= set(keys)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("int 5", "int takes LO HI"),
        ("int 9 1", "LO must be at most HI"),
        ("key customers.id", "key takes SCHEMA.TABLE.COLUMN"),
        ("key a.b.c zipf:9", "a skew is uniform or zipf:S"),
        ("now 60", "now takes nothing or -SECONDS"),
        ("string 0", "LENGTH must be 1 to"),
        ("choice", "choice takes one or more words"),
        ("random 1 2", "unknown generator 'random'"),
    ],
)
def test_a_bad_generator_is_refused_naming_where(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_generator(text, "workload.custom.w.transactions[0].vars.x")
    message = str(caught.value)
    assert message.startswith("workload.custom.w.transactions[0].vars.x: ") and problem in message


def test_skew_takes_uniform_or_zipf() -> None:
    assert parse_skew("uniform") is None and parse_skew("zipf:1.1") == 1.1
    with pytest.raises(InputError, match="--skew"):
        parse_skew("zipf:-1")


def _custom(statement: dict[str, object], variables: dict[str, str] | None = None) -> None:
    parse_custom("f.toml: workload.custom.w", {"transactions": [
        {"name": "t", "weight": 1, "vars": variables or {}, "statements": [statement]}]})


def test_placeholders_must_match_params_and_variables_must_exist() -> None:
    with pytest.raises(InputError, match=r"statements\[0\].params: the SQL has 2 %s"):
        _custom({"sql": "SELECT 1 WHERE a = %s AND b = %s", "params": ["int 1 2"]})
    with pytest.raises(InputError, match=r"params\[0\]: no such variable"):
        _custom({"sql": "SELECT 1 WHERE a = %s", "params": ["$nope"]})
    with pytest.raises(InputError, match="a literal % is written %%"):
        _custom({"sql": "SELECT 1 WHERE a LIKE 'x%'"})
    with pytest.raises(InputError, match=r"into: .*only a SELECT"):
        _custom({"sql": "UPDATE t SET a = 1", "into": ["x"]})
    _custom({"sql": "SELECT a FROM t WHERE b LIKE 'x%%' AND c = %s", "params": ["$v"]},
            {"v": "key s.t.c zipf:1.2"})


def test_percent_signs_reach_postgres_as_postgres_writes_them() -> None:
    assert _numbered("SELECT a FROM t WHERE b LIKE 'x%%' AND c = %s AND d = %s") == (
        "SELECT a FROM t WHERE b LIKE 'x%' AND c = $1 AND d = $2")
