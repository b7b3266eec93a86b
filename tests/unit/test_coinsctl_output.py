"""coinsctl's listings: a line per row for people, one JSON document with --json for scripts."""

from __future__ import annotations

import json

from click.testing import CliRunner

from coinsctl.cli import main


def test_keys_list_prints_each_callers_keys_as_lines_or_one_json_array(tmp_path, monkeypatch):
    monkeypatch.setenv("COINS_VAR_DIR", str(tmp_path))
    for caller in ("gateway", "ops"):
        assert CliRunner().invoke(main, ["keys", "new", "--caller", caller, "--kid", f"{caller}-1"]).exit_code == 0
    (tmp_path / "keys" / "private" / "ops" / "ops-1.pem").unlink()  # a public key whose private half lives elsewhere

    listed = CliRunner().invoke(main, ["keys", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == [
        {"caller": "gateway", "kid": "gateway-1", "private_key": True},
        {"caller": "ops", "kid": "ops-1", "private_key": False},
    ]
    text = CliRunner().invoke(main, ["keys", "list"])
    assert text.exit_code == 0
    assert text.stdout.splitlines() == ["gateway\tgateway-1\tTrue", "ops\tops-1\tFalse"]
    assert text.stderr.strip() == "2 keys"


def test_an_empty_listing_is_an_empty_json_array(tmp_path, monkeypatch):
    monkeypatch.setenv("COINS_VAR_DIR", str(tmp_path))
    listed = CliRunner().invoke(main, ["keys", "list", "--json"])
    assert (listed.exit_code, json.loads(listed.stdout), listed.stderr) == (0, [], "")


def test_every_listing_command_takes_json():
    for command in (["keys", "list"], ["purchases", "held"], ["payouts", "held"], ["dlq", "list"], ["lag"]):
        shown = CliRunner().invoke(main, [*command, "--help"])
        assert shown.exit_code == 0 and "--json" in shown.output, command
