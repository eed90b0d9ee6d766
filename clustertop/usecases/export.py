"""A recording's series and job results as files: CSV, JSON or Markdown. Series are one row per
node and round; a comparison's table is rendered exactly as `compare` prints it."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from clustertop.actions.cleanup.compare import render_rows
from clustertop.collectors.samples import NodeSample
from clustertop.core.errors import InputError
from clustertop.usecases.record import Recording


def _throughput(name: str) -> Callable[[NodeSample], float | None]:
    return lambda n: getattr(n.throughput, name) if n.throughput is not None else None


SERIES: dict[str, Callable[[NodeSample], Any]] = {
    "up": lambda n: 1 if n.up else 0,
    "role": lambda n: n.role,
    "lag": lambda n: n.lag_s,
    "lag_lower_bound": lambda n: n.lag_is_lower_bound if n.lag_s is not None else None,
    "tps": _throughput("tps"),
    "qps": _throughput("qps"),
    "rows_deleted_ps": _throughput("rows_deleted_ps"),
    "log_bytes_ps": _throughput("log_bytes_ps"),
    "connections": lambda n: n.connections,
    "active": lambda n: n.active,
    "cache_hit_ratio": lambda n: n.cache_hit_ratio,
    "probe_ms": lambda n: n.probe_ms,
    "blocked": lambda n: (sum(1 for s in n.sessions.sessions if s.waiting and not s.own)
                          if n.sessions is not None else None),
}
DEFAULT_SERIES = ("up", "lag", "tps", "qps", "connections", "active")


def parse_series(text: str | None) -> tuple[str, ...]:
    if not text:
        return DEFAULT_SERIES
    names = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [n for n in names if n not in SERIES]
    if unknown or not names:
        raise InputError("--series", text, f"must be names among {', '.join(SERIES)}")
    return names


def parse_time(text: str | None, flag: str, day_of: float) -> float | None:
    """Unix seconds, ISO 8601 (UTC unless it says), or HH:MM[:SS] UTC on the recording's day."""
    if text is None:
        return None
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?", text)
    if clock:
        day = time.gmtime(day_of)
        midnight = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 0, 0, 0, 0, 0, 0))
        midnight -= time.timezone
        return (midnight + int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
                + float(clock.group(3) or 0))
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(flag, text, "must be unix seconds, ISO 8601 or HH:MM:SS (UTC)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def series_rows(recording: Recording, names: Sequence[str], start: float | None,
                end: float | None) -> list[dict[str, Any]]:
    rows = []
    for round_ in recording.rounds:
        if (start is not None and round_.at < start) or (end is not None and round_.at > end):
            continue
        for node in round_.nodes:
            row: dict[str, Any] = {"at": round_.at, "cluster": node.cluster, "node": node.node}
            row.update({name: SERIES[name](node) for name in names})
            rows.append(row)
    return rows


def job_results(recording: Recording, end: float | None) -> list[dict[str, Any]]:
    """Each job as last recorded (up to `end`): its state, its result pairs, its rows."""
    last = recording.jobs_at(end if end is not None else float("inf"))
    return [
        {"job": j.id, "kind": j.kind, "title": j.title, "cluster": j.cluster, "state": j.state,
         "started_at": j.started_at, "finished_at": j.finished_at, "error": j.error,
         "result": dict(j.summary), "rows": [dict(r) for r in j.rows]}
        for j in last
    ]


def render(fmt: str, series: list[dict[str, Any]], jobs: list[dict[str, Any]]) -> str:
    if fmt == "json":
        return json.dumps({"series": series, "jobs": jobs}, indent=2, default=str)
    if fmt == "csv":
        out = io.StringIO()
        if series:
            writer = csv.DictWriter(out, fieldnames=list(series[0]))
            writer.writeheader()
            writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in series)
        if jobs:
            out.write("\n")
            keys = ["job", "kind", "title", "cluster", "state", "started_at", "finished_at",
                    "error", "result"]
            writer = csv.DictWriter(out, fieldnames=keys, extrasaction="ignore")
            writer.writeheader()
            for job in jobs:
                writer.writerow({**{k: "" if job[k] is None else job[k] for k in keys[:-1]},
                                 "result": "; ".join(f"{k} {v}" for k, v in
                                                     job["result"].items())})
        return out.getvalue().rstrip("\n")
    lines = []
    if series:
        keys = list(series[0])
        lines += ["| " + " | ".join(keys) + " |", "|" + "|".join("---" for _ in keys) + "|"]
        lines += ["| " + " | ".join("-" if r[k] is None else str(r[k]) for k in keys) + " |"
                  for r in series]
    for job in jobs:
        lines += ["", f"### job {job['job']}: {job['title']} ({job['state']})", ""]
        if job["rows"]:
            lines.append(render_rows(job["rows"], "md"))  # as `compare` printed it
        elif job["result"]:
            lines += ["| " + " | ".join(job["result"]) + " |",
                      "|" + "|".join("---" for _ in job["result"]) + "|",
                      "| " + " | ".join(str(v) for v in job["result"].values()) + " |"]
    return "\n".join(lines).strip("\n")
