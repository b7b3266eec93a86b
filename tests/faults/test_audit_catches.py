"""The auditor catches what the money core must never do, each defect seeded into the books the way
a bug would leave it: a withdrawal paid at the processor whose diamonds were returned, a chargeback
the processor settled that the purchase service never recorded, a charge the processor settled for
another amount. `coinsctl audit` names each with its ids (exit 1); once the books are put right it
passes (exit 0), and with a processor away it says it could not check (exit 2)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from shared.db.engines import make_engine
from tests.support.broker import free_port
from tests.support.stories import buy, earnings, send_gift, spendable, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults


def coinsctl_audit(stack, caller_keys, tmp_path: Path, **urls) -> subprocess.CompletedProcess:
    """`coinsctl audit` as an operator runs it, signing as `ops` with its key under COINS_VAR_DIR."""
    var_dir = tmp_path / "ops"
    if not var_dir.exists():
        var_dir.mkdir()
        (var_dir / "keys").symlink_to(caller_keys.root)
    where = {
        "purchase_url": stack.url("purchase"),
        "gifting_url": stack.url("gifting"),
        "payout_url": stack.url("payout"),
        "card_processor_url": stack.env["PURCHASE_PROCESSOR_URL"],
        "payout_processor_url": stack.env["PAYOUT_PROCESSOR_URL"],
        **urls,
    }
    args = [f"--{name.replace('_', '-')}={url}" for name, url in where.items()]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROCESSOR_URL")} | {"COINS_VAR_DIR": str(var_dir)}
    return subprocess.run(
        [sys.executable, "-m", "coinsctl", "audit", "--wait=90", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def card_sandbox_db(stack) -> sqlite3.Connection:
    path = stack.env.get("CARD_SANDBOX_DB") or str(Path(stack.env["COINS_VAR_DIR"]) / "card-sandbox.db")
    return sqlite3.connect(path, timeout=30, isolation_level=None)


def test_the_auditor_names_a_withdrawal_paid_twice_a_lost_chargeback_and_a_charge_of_another_amount(
    api, stack, caller_keys, tmp_path
):
    viewer, creator = unique("viewer"), unique("creator")
    disputed = buy(api, viewer, package_id="coins_17500")
    cheap = buy(api, viewer, package_id="coins_3500")
    spendable(api, viewer, 21_000)
    assert send_gift(api, viewer, creator, "galaxy", quantity=20).status_code == 201
    registered = api.post(
        "payout",
        "/v1/creators",
        {
            "creator_id": creator,
            "country": "US",
            "birth_date": "1990-01-01",
            "payout_method": {"type": "bank", "account": "US-0001"},
        },
        key=None,
    )
    assert registered.status_code == 201, registered.text
    wait_until(lambda: earnings(api, creator)["available"] == 20_000, message="the gift's diamonds credited")
    withdrawal = api.post("payout", "/v1/withdrawals", {"creator_id": creator, "amount_minor": 10_000}).json()
    wid = withdrawal["withdrawal_id"]
    wait_until(lambda: api.get("payout", f"/v1/withdrawals/{wid}").json()["status"] == "completed", message="paid out")
    healthy = coinsctl_audit(stack, caller_keys, tmp_path)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr

    payout_db = make_engine(stack.env["PAYOUT_DATABASE_URL"])
    card = card_sandbox_db(stack)
    try:
        # 1. Paid at the processor, and the withdrawal failed with its diamonds returned (the
        # lookup-only "not found, so failed" of a second worker while the first still sends).
        with payout_db.begin() as conn:
            conn.execute(
                sa.text("UPDATE withdrawals SET status = 'failed', failure_reason = 'seeded' WHERE withdrawal_id = :w"),
                {"w": wid},
            )
            conn.execute(
                sa.text(
                    "UPDATE creator_accounts SET withdrawn_diamonds = withdrawn_diamonds - 20000 WHERE creator_id = :c"
                ),
                {"c": creator},
            )
        # 2. The card holder's dispute is settled at the processor; its notification never arrives.
        dispute = requests.post(
            f"{stack.env['PURCHASE_PROCESSOR_URL']}/v1/charges/{disputed['purchase_id']}/chargebacks",
            json={"reason": "fraudulent"},
            timeout=10,
        )
        assert dispute.status_code == 201, dispute.text
        chargeback_id = dispute.json()["chargeback_id"]
        # 3. The processor settled one cent for a purchase of 4,999.
        card.execute("UPDATE charges SET amount_minor = 1 WHERE payment_id = ?", (cheap["purchase_id"],))

        broken = coinsctl_audit(stack, caller_keys, tmp_path)
        out = broken.stdout
        assert broken.returncode == 1, out + broken.stderr
        assert (
            f"withdrawal {wid} failed (its 20000 diamonds returned) but the processor paid 10000 USD: paid twice" in out
        )
        assert (
            f"chargeback {chargeback_id} at the processor (24999 USD) is not recorded in purchase "
            f"{disputed['purchase_id']} (completed): its 17500 coins were kept" in out
        )
        assert f"purchase {cheap['purchase_id']}: the processor settled 1 USD, the purchase is priced 4999 USD" in out
        failed = sorted(line.split(None, 1)[1] for line in out.splitlines() if line.startswith("FAIL"))
        assert failed == [
            "card processor charges = purchases",
            "processor chargebacks = reversals",
            "processor payouts = withdrawals",
        ], out
    finally:
        with payout_db.begin() as conn:
            conn.execute(
                sa.text("UPDATE withdrawals SET status = 'completed', failure_reason = NULL WHERE withdrawal_id = :w"),
                {"w": wid},
            )
            conn.execute(
                sa.text(
                    "UPDATE creator_accounts SET withdrawn_diamonds = withdrawn_diamonds + 20000 WHERE creator_id = :c"
                ),
                {"c": creator},
            )
        payout_db.dispose()
        card.execute("UPDATE charges SET amount_minor = 4999 WHERE payment_id = ?", (cheap["purchase_id"],))
        card.close()
    # The lost notification delivered at last: the purchase is reversed, and the books balance.
    reported = api.post(
        "purchase",
        "/v1/chargebacks",
        {"purchase_id": disputed["purchase_id"], "reason": "fraudulent"},
        caller="processor",
    )
    assert reported.status_code in (201, 202), reported.text
    mended = coinsctl_audit(stack, caller_keys, tmp_path)
    assert mended.returncode == 0, mended.stdout + mended.stderr

    away = coinsctl_audit(stack, caller_keys, tmp_path, payout_processor_url=f"http://127.0.0.1:{free_port()}")
    assert away.returncode == 2, away.stdout + away.stderr
    assert "UNCHECKED processor payouts = withdrawals" in away.stdout
    assert "OK        card processor charges = purchases" in away.stdout
