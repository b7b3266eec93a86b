"""bench.pipeline (the pipeline's CPU per event) run small: its own broker, gifting's relay and
payout's consumer carry a backlog and a few single gifts from the outbox to payout's inbox, and each
scenario reports the events it measured with figures that describe them."""

from __future__ import annotations

import json

import pytest

from bench.pipeline import ROLES, main

pytestmark = pytest.mark.integration


def test_a_small_run_applies_every_event_and_reports_each_scenario(capsys):
    main(["--events", "200", "--warm-up", "20", "--scenarios", "backlog", "single"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(line["scenario"], line["events"]) for line in lines] == [("backlog", 200), ("single", 40)]
    for line in lines:
        assert line["seconds"] > 0 and line["events_per_s"] > 0
        assert set(ROLES) <= line["cpu_ms_per_event"].keys()
        assert all(value >= 0 for value in line["cpu_ms_per_event"].values())
        assert 0 < line["latency_ms"]["p50"] <= line["latency_ms"]["p99"]
