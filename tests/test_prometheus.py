"""The Prometheus endpoint: it parses as the text format, its lag is the TUI's for the same
round, no password reaches it; and past one machine, a real Prometheus scrapes two `clustertop
watch` processes (one per lab cluster) and its query API gives back the lag `poll --json`
reports, within one interval. The shipped prometheus.yml and alert rules pass promtool."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from clustertop.core.config import Config
from clustertop.lab.lab import Lab
from tests.conftest import CLUSTERTOP, run_cli
from tests.helpers import wait_for

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_prometheus = pytest.mark.skipif(
    not (PROMETHEUS and PROMTOOL),
    reason="prometheus/promtool not installed (Debian: apt-get install prometheus; ./run tests"
    " installs it as root on Debian)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def _lags(text: str) -> dict[tuple[str, str], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name == "clustertop_replication_lag_seconds":
            for sample in family.samples:
                if sample.labels["method"] == "heartbeat":
                    found[(sample.labels["cluster"], sample.labels["node"])] = sample.value
    return found


async def test_the_endpoint_parses_and_its_lag_is_the_tuis_for_the_same_round(
    lab: Lab, lab_config: Config
) -> None:
    from clustertop.tui.app import make_app
    from clustertop.usecases.metrics import MetricsServer, RoundCollector

    app = make_app(lab_config)
    state = app.state
    port = _free_port()
    server = MetricsServer(RoundCollector(lambda: state.latest, lambda: state.job_snapshots,
                                          lambda: tuple(state.verdicts.values())), port)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(40):
                await pilot.pause(0.25)
                latest = state.latest
                if latest and all(r.heartbeat_lag_s is not None and not r.heartbeat_lower_bound
                                  for n in latest.nodes for r in n.replication):
                    break
            await pilot.press("p")  # polling paused: the round stays what the screen shows
            await pilot.pause(0.3)
            latest = state.latest
            assert latest is not None
            text = _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.close()
    expected = {(n.cluster, n.node): r.heartbeat_lag_s for n in latest.nodes
                for r in n.replication}
    assert expected and _lags(text) == expected
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ups = {(s.labels["cluster"], s.labels["node"]): s.value
           for s in families["clustertop_node_up"].samples}
    assert ups == {(n.cluster, n.node): 1.0 for n in latest.nodes}
    assert families["clustertop_transactions"].type == "counter"
    assert {s.labels["cluster"] for s in families["clustertop_gate_go"].samples} == {
        "lab-mariadb", "lab-postgres"}
    password = (lab.client_dir / "password").read_text().strip()
    assert password not in text


@needs_prometheus
def test_the_shipped_prometheus_config_and_alert_rules_pass_promtool() -> None:
    assert PROMTOOL
    checked = subprocess.run([PROMTOOL, "check", "config", str(DEPLOY / "prometheus.yml")],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr
    rules = subprocess.run([PROMTOOL, "check", "rules", str(DEPLOY / "clustertop-alerts.yml")],
                           capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0 and "6 rules found" in rules.stdout, rules.stdout + rules.stderr


def _query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    data = json.loads(_get(url))
    assert data["status"] == "success", data
    return list(data["data"]["result"])


@needs_prometheus
def test_one_prometheus_scrapes_two_watch_processes_and_gives_back_the_lag(
    lab: Lab, tmp_path: Path
) -> None:
    assert PROMETHEUS
    ports = {"lab-mariadb": _free_port(), "lab-postgres": _free_port()}
    watchers = [
        subprocess.Popen([CLUSTERTOP, "--config", str(lab.config_path), "watch", "--cluster",
                          cluster, "--metrics-port", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
        for cluster, port in ports.items()
    ]
    prom_port = _free_port()
    config = tmp_path / "prometheus.yml"
    targets = ", ".join(f'"127.0.0.1:{p}"' for p in ports.values())
    config.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: clustertop"
                      f"\n    static_configs:\n      - targets: [{targets}]\n")
    prometheus = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        def scraped_twice() -> bool:
            try:
                counts = _query(prom_port, "count_over_time(clustertop_poll_timestamp_seconds[1m])")
            except OSError:
                return False
            return len(counts) == 2 and all(float(r["value"][1]) >= 2 for r in counts)

        assert wait_for(scraped_twice, timeout=60, step=0.5), "Prometheus did not scrape twice"
        up = _query(prom_port, 'up{job="clustertop"}')
        assert sorted(float(r["value"][1]) for r in up) == [1.0, 1.0]
        through_prometheus = {
            (r["metric"]["cluster"], r["metric"]["node"]): float(r["value"][1])
            for r in _query(prom_port, 'clustertop_replication_lag_seconds{method="heartbeat"}')
        }
        polled = run_cli("--config", str(lab.config_path), "poll", "--once", "--json")
        assert polled.returncode == 0, polled.stderr
        direct = {(n["cluster"], n["node"]): n["replication"][0]["heartbeat_lag_s"]
                  for n in json.loads(polled.stdout)["nodes"] if n["replication"]}
        assert set(through_prometheus) == set(direct) == {("lab-mariadb", "replica1"),
                                                          ("lab-postgres", "standby1")}
        interval = 1.0  # the lab's poll interval
        for key, lag in direct.items():
            assert abs(through_prometheus[key] - lag) <= interval, (key, lag, through_prometheus)
    finally:
        prometheus.send_signal(signal.SIGTERM)
        for watcher in watchers:
            watcher.send_signal(signal.SIGTERM)
        prometheus.wait(20)
        for watcher in watchers:
            _out, err = watcher.communicate(timeout=20)
            assert watcher.returncode == 0 and "Traceback" not in err, err
