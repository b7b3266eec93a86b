"""coinsctl's broker commands as the README prints them, against `make run`'s stack: without
KAFKA_BOOTSTRAP_SERVERS they reach its broker as its admin; a named broker is taken as named."""

from __future__ import annotations

import json

from coinsctl.settings import ops_kafka_settings


def _state(var_dir, port=19092):
    (var_dir / "broker").mkdir(parents=True)
    passwords = {"admin": "admin-pw", "gifting": "gifting-pw"}
    (var_dir / "broker" / "broker.json").write_text(
        json.dumps({"port": port, "controller_port": port + 1, "passwords": passwords})
    )


def test_without_a_named_broker_the_local_stacks_is_used_as_its_admin(tmp_path):
    _state(tmp_path)
    settings = ops_kafka_settings(tmp_path, {})
    assert settings.bootstrap_servers == "127.0.0.1:19092"
    assert (settings.security_protocol, settings.sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
    assert (settings.sasl_username, settings.sasl_password) == ("admin", "admin-pw")


def test_a_named_broker_is_taken_as_the_variables_name_it(tmp_path):
    _state(tmp_path)
    settings = ops_kafka_settings(tmp_path, {"KAFKA_BOOTSTRAP_SERVERS": "broker1:9092"})
    assert (settings.bootstrap_servers, settings.security_protocol, settings.sasl_username) == (
        "broker1:9092",
        "PLAINTEXT",
        None,
    )


def test_without_a_local_stack_the_defaults_hold(tmp_path):
    settings = ops_kafka_settings(tmp_path, {})
    assert (settings.bootstrap_servers, settings.sasl_username) == ("127.0.0.1:9092", None)


def test_an_audit_whose_outcome_cannot_be_pushed_exits_2_saying_so(monkeypatch, tmp_path):
    """The CronJob's exit code must show a push that failed (the alerts would not know), without a traceback."""
    import urllib.error
    from types import SimpleNamespace

    from click.testing import CliRunner

    import coinsctl.audit
    from coinsctl.cli import main

    passed = SimpleNamespace(exit_code=0, results=[], totals={}, under_traffic=False)
    monkeypatch.setattr(coinsctl.audit, "audit", lambda *a, **k: passed)

    def refused(report, gateway):
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(coinsctl.audit, "push_result", refused)
    monkeypatch.setenv("COINS_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["audit", "--pushgateway", "127.0.0.1:9"])
    assert result.exit_code == 2, result.output
    assert "could not push the outcome to the Pushgateway at 127.0.0.1:9" in result.stderr
    monkeypatch.setattr(coinsctl.audit, "push_result", lambda report, gateway: None)
    assert CliRunner().invoke(main, ["audit", "--pushgateway", "127.0.0.1:9"]).exit_code == 0
