"""A node that refuses connections: said once, with the retry apart (no server needed)."""

from __future__ import annotations

from clustertop.collectors.poller import Poller, PollTarget
from clustertop.core.nodes import NodeSpec
from clustertop.lab.processes import free_port


def test_a_refused_node_keeps_one_error_and_counts_down_its_retry_apart() -> None:
    port = free_port(set())  # nothing listens there
    spec = NodeSpec(cluster="c", name="gone", engine="mariadb", host="127.0.0.1", port=port,
                    user="x")
    poller = Poller([PollTarget(spec, 0.5, 0.5, heartbeat_table=None)])
    try:
        samples = [poller.poll_round().nodes[0] for _ in range(4)]
    finally:
        poller.close()
    assert all(not s.up for s in samples)
    errors = {s.error for s in samples}
    assert len(errors) == 1, errors  # the same reason every round, not a growing text
    (error,) = errors
    assert error and "retry in" not in error and "Connection refused" in error
    waiting = [s for s in samples if s.retry_in_s is not None]
    assert waiting, "no round said when the next attempt is due"
    assert all(0 < s.retry_in_s <= 5.0 for s in waiting)  # type: ignore[operator]
    assert waiting[0].down_text == f"{error} (retry in {waiting[0].retry_in_s:.1f} s)"
