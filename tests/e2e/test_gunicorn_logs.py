"""gunicorn's own lines (master and workers: starting, booting, exiting; the access log when asked
for) are JSON with the services' fields, the request's trace among them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import requests

from tests.support.broker import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
APP = "services.gifting.entrypoints.wsgi:create_app()"
TRACE, SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


def test_gunicorns_startup_shutdown_and_access_lines_are_json_with_the_apps_fields(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "GIFTING_DATABASE_URL": f"sqlite:///{tmp_path}/gifting.db",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESSLOG": "-",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    out, err = open(tmp_path / "out.log", "wb"), open(tmp_path / "err.log", "wb")
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:shared.http.gunicorn_conf", APP],
        env=env,
        stdout=out,
        stderr=err,
    )
    try:
        url = f"http://127.0.0.1:{port}/health/live"
        wait_until(lambda: _answers(url), timeout=30, message="gunicorn answering")
        answer = requests.get(url, headers={"traceparent": f"00-{TRACE}-{SPAN}-01"}, timeout=10)
        assert answer.headers["traceparent"].startswith(f"00-{TRACE}-")
        gunicorn.send_signal(signal.SIGTERM)
        assert gunicorn.wait(timeout=30) == 0
    finally:
        if gunicorn.poll() is None:
            gunicorn.kill()
            gunicorn.wait()
        out.close()
        err.close()
    lines = [json.loads(line) for line in (tmp_path / "err.log").read_text().splitlines()]  # every line JSON
    said = {line["message"].split(" ")[0] + " " + line["message"].split(" ")[1] for line in lines}
    assert {"Starting gunicorn", "Booting worker", "Worker exiting", "Shutting down:"} <= said, said
    for line in lines:
        assert {"ts", "level", "logger", "message", "service", "trace_id", "span_id", "parent_span_id"} <= set(line)
        assert line["service"] == "gifting.web"
    [access] = [json.loads(line) for line in (tmp_path / "out.log").read_text().splitlines()][-1:]
    assert access["logger"] == "gunicorn.access" and "GET /health/live" in access["message"]
    assert access["trace_id"] == TRACE and access["span_id"] == answer.headers["traceparent"].split("-")[2]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
