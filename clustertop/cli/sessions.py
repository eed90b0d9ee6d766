"""`clustertop kill`: cancel a session's statement or end the session, after naming it (its
user and statement) and a confirmation."""

from __future__ import annotations

import argparse
from typing import Any

from clustertop.cli.common import require_actions, resolve_config, say
from clustertop.cli.terminal import confirm
from clustertop.core.errors import InputError


def add_parser(add: Any) -> None:
    p = add("kill", "cancel a session's statement or end the session (as Activity's k / K)")
    p.add_argument("--node", required=True, help="the node's name in the cluster")
    p.add_argument("--session", required=True, type=int, help="the session id (pid / thread id)")
    p.add_argument(
        "--query-only", action="store_true",
        help="cancel the statement only (pg_cancel_backend / KILL QUERY); the session stays",
    )
    p.add_argument("--yes", action="store_true", help="answer the confirmation")


def cmd_kill(args: argparse.Namespace) -> int:
    from clustertop.actions.sessions import end_session, find_session

    config = resolve_config(args)
    cluster = config.cluster(args.cluster)
    node = next((n for n in cluster.nodes if n.name == args.node), None)
    if node is None:
        names = ", ".join(n.name for n in cluster.nodes)
        raise InputError("--node", args.node, f"is not a node of {cluster.name} (nodes: {names})")
    require_actions(args, config, cluster.name, "kill (it ends a session of the server's)")
    target = find_session(node, args.session, args.query_only)
    say(target.describe())
    confirm(args, f"this will {target.describe()}.", str(args.session))
    say(end_session(target))
    return 0
