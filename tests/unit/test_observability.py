"""Dashboards and alerts as code: promtool checks the rules and their tests, every metric the rules
and the dashboard query is one the code exports, each alert has its runbook, and a scrape passes
promtool's lint of Prometheus naming conventions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from shared.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
OBS = ROOT / "deploy" / "observability"
NAME = re.compile(r"\b(coins_[a-z_]+)\b")


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    if not shutil.which("promtool"):
        pytest.fail("promtool is missing: `make test` installs it (deploy/ensure-promtool.sh, Debian's prometheus)")
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True, timeout=60)


def exported_names() -> set[str]:
    names = set(metrics.SCRAPE_TIME_GAUGES + metrics.PUSHED_GAUGES)
    for obj in vars(metrics).values():
        if isinstance(obj, MetricWrapperBase):
            base, kind = obj._name, obj._type
            names |= (
                {f"{base}_total"}
                if kind == "counter"
                else {f"{base}_bucket", f"{base}_sum", f"{base}_count"}
                if kind == "histogram"
                else {base}
            )
    return names


def dashboard_exprs() -> list[str]:
    board = json.loads((OBS / "dashboard.json").read_text())
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def alert_rules() -> list[dict]:
    return [r for g in yaml.safe_load((OBS / "alerts.yaml").read_text())["groups"] for r in g["rules"]]


def test_promtool_checks_the_alert_rules_and_runs_their_tests():
    checked = promtool("check", "rules", str(OBS / "alerts.yaml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", str(OBS / "alerts.test.yaml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_and_has_a_runbook_section():
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    tests = (OBS / "alerts.test.yaml").read_text()
    # Absolute (a page or a chat message leaves the cluster), all under one base: the one place
    # to change where the runbook is read.
    base = alert_rules()[0]["annotations"]["runbook_url"].split("#")[0]
    assert re.fullmatch(r"https://[^/]+/\S+/docs/runbook\.md", base), base
    for rule in alert_rules():
        name = rule["alert"]
        assert f"## {name}\n" in runbook, f"docs/runbook.md has no section for {name}"
        assert rule["annotations"]["runbook_url"] == f"{base}#{name.lower()}"
        assert f"alertname: {name}" in tests, f"alerts.test.yaml never evaluates {name}"


def test_the_dashboard_queries_are_valid_promql(tmp_path):
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"coins:panel_{i}", "expr": expr.replace("$__rate_interval", "5m")}
                    for i, expr in enumerate(dashboard_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_and_the_dashboard_query_only_metrics_the_code_exports():
    queried = {n for e in dashboard_exprs() + [r["expr"] for r in alert_rules()] for n in NAME.findall(e)}
    assert queried and queried <= exported_names(), queried - exported_names()


def test_the_dashboard_file_is_what_its_generator_renders():
    import importlib.util

    spec = importlib.util.spec_from_file_location("dashboard", OBS / "dashboard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads((OBS / "dashboard.json").read_text()) == module.dashboard(), (
        "run python deploy/observability/dashboard.py"
    )


def test_a_scrape_follows_the_prometheus_naming_conventions():
    metrics.HTTP_REQUESTS.labels("lint", "GET", "/v1/x", "200").inc()
    metrics.HTTP_LATENCY.labels("lint", "GET", "/v1/x").observe(0.01)
    metrics.CONSUMED.labels("lint", "gift.sent.v1", "applied").inc()
    metrics.DEAD_LETTERS.labels("lint", "gift.sent.v1", "failed").inc()
    metrics.CONSUMER_LAG.labels("g", "gift.sent.v1", "0").set(3)
    gauges = metrics.CallbackGauges(
        lambda: [(name, "doc", {"service": "lint"}, 1.0) for name in metrics.SCRAPE_TIME_GAUGES]
    )
    body, _ = metrics.render([gauges])
    linted = promtool("check", "metrics", stdin=body.decode())
    assert linted.returncode == 0, linted.stdout + linted.stderr


class FakePushgateway(BaseHTTPRequestHandler):
    """The Pushgateway's semantics for one group: PUT replaces the group's metrics, POST replaces
    only the metrics it carries (by name), DELETE drops the group."""

    groups: dict[str, dict[str, str]] = {}

    def _body(self) -> dict[str, str]:
        text = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        samples = (line.split(" ") for line in text.splitlines() if line and not line.startswith("#"))
        return {name: value for name, value in samples}

    def do_PUT(self):
        self.groups[self.path] = self._body()
        self._ok()

    def do_POST(self):
        self.groups.setdefault(self.path, {}).update(self._body())
        self._ok()

    def do_DELETE(self):
        self.groups.pop(self.path, None)
        self._ok()

    def _ok(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_failed_audit_keeps_the_last_success_for_the_alerts():
    """A pass pushes its time of success; a later failure pushes its problems and run time, and the
    gateway still holds the pass's time (so CoinsAuditNotPassing keeps counting from it)."""
    from coinsctl.audit import AuditReport, CheckResult, push_result

    FakePushgateway.groups = {}
    server = HTTPServer(("127.0.0.1", 0), FakePushgateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gateway = f"127.0.0.1:{server.server_port}"
    try:
        push_result(AuditReport(totals={}, results=[CheckResult("coins", "OK")]), gateway)
        passed = dict(FakePushgateway.groups["/metrics/job/coins-audit"])
        failed = AuditReport(totals={}, results=[CheckResult("coins", "FAIL", ["1 != 2"]), CheckResult("gifts", "OK")])
        push_result(failed, gateway)
    finally:
        server.shutdown()
        server.server_close()
    [(path, group)] = FakePushgateway.groups.items()
    assert path == "/metrics/job/coins-audit"
    assert passed["coins_audit_problems"] == "0.0"
    assert group["coins_audit_problems"] == "1.0"
    assert group["coins_audit_last_success_timestamp_seconds"] == passed["coins_audit_last_success_timestamp_seconds"]
    assert float(group["coins_audit_last_run_timestamp_seconds"]) >= float(
        passed["coins_audit_last_run_timestamp_seconds"]
    )


def test_reading_a_groups_offsets_waits_out_a_coordinator_still_loading(monkeypatch):
    """A new group's coordinator may answer CoordinatorNotAvailable while it loads (seen under load):
    the lag read asks again within its bound, and gives up on an error that is not retriable."""
    from kafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError

    from shared.kafka import admin as kafka_admin

    monkeypatch.setattr(kafka_admin.time, "sleep", lambda _s: None)
    answers = iter([CoordinatorNotAvailableError(), CoordinatorNotAvailableError(), {"offsets": 1}])

    def fetch():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert kafka_admin._while_retriable(fetch) == {"offsets": 1}
    with pytest.raises(GroupAuthorizationFailedError):
        kafka_admin._while_retriable(lambda: (_ for _ in ()).throw(GroupAuthorizationFailedError()))


def test_processor_calls_are_counted_by_outcome():
    """coins_processor_calls_total (CoinsProcessorErrorsHigh): one per call, whatever its retries;
    `unknown` when every attempt failed (here: a 503 twice), `answered` for any status below 500."""
    from shared.outbound import Outbound, OutboundSettings

    statuses = [503, 503, 404]

    class Processor(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(statuses.pop(0))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Processor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = OutboundSettings(
        name="sandbox", url=f"http://127.0.0.1:{server.server_port}", service="test-calls", attempts=2, backoff_ms=1
    )

    def count(outcome: str) -> float:
        return metrics.PROCESSOR_CALLS.labels(service="test-calls", processor="sandbox", outcome=outcome)._value.get()

    try:
        http = Outbound(settings)
        assert http.call("GET", "/v1/charges/x") is None
        assert (count("unknown"), count("answered")) == (1, 0)
        assert http.call("GET", "/v1/charges/x").status == 404
        assert (count("unknown"), count("answered")) == (1, 1)
    finally:
        server.shutdown()
        server.server_close()
