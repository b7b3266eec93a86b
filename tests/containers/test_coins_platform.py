"""What `coins_platform.testing` offers another team, used as they would: any caller with the
permissions a test gives it, user grants, the sandboxes' scripted behaviours, and the ops CLI
inside a running service container (as `kubectl exec` / `docker compose exec` run it)."""

from __future__ import annotations

import json

import pytest
import requests

from coins_platform.testing import CardSandbox, PayoutSandbox
from tests.support.stories import Api, buy, earnings, send_gift, spendable, unique, wallet
from tests.support.waiting import wait_until

pytestmark = pytest.mark.containers


def test_any_caller_gets_a_token_and_acts_for_a_user_only_with_a_grant(coins_platform):
    api = Api(coins_platform, coins_platform.headers)
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_700")
    spendable(api, viewer, 700, timeout=60)
    gift = {"sender_id": viewer, "creator_id": creator, "gift_id": "rose", "quantity": 1}
    url = coins_platform.url("gifting") + "/v1/gifts"

    def send(headers: dict) -> requests.Response:
        return requests.post(url, json=gift, headers={**headers, "Idempotency-Key": unique("k")}, timeout=30)

    # partner-live is granted gifts:send by this session's policy (conftest.py), users:any is not
    assert send(coins_platform.headers("partner-live", service="gifting")).status_code == 403
    granted = send(coins_platform.headers("partner-live", service="gifting", user=viewer, grant={"max_coins": 1}))
    assert granted.status_code == 201, granted.text
    other_user = coins_platform.headers(
        "partner-live", service="gifting", user=unique("someone"), grant={"max_coins": 1}
    )
    assert send(other_user).status_code == 403
    catalog = coins_platform.url("gifting") + "/v1/gifts/catalog"
    assert (
        requests.get(catalog, headers=coins_platform.headers("nobody", service="gifting"), timeout=10).status_code
        == 403
    )
    assert wallet(api, viewer)["balance"] == 699


def test_the_sandboxes_scripted_behaviours_drive_a_decline_and_a_refused_payout(coins_platform):
    api = Api(coins_platform, coins_platform.headers)
    charged_before = {c["payment_id"] for c in coins_platform.card.charges()}
    declined = api.post(
        "purchase",
        "/v1/purchases",
        {
            "user_id": unique("viewer"),
            "country": "US",
            "birth_date": "1995-03-14",
            "package_id": "coins_700",
            "payment": {"method": "card", "token": CardSandbox.DECLINED},
        },
    )
    assert declined.status_code == 402, declined.text
    new = [c for c in coins_platform.card.charges() if c["payment_id"] not in charged_before]
    assert [(c["status"], c["calls"]) for c in new] == [("declined", 1)]
    assert coins_platform.card.charge(new[0]["payment_id"])["decline_code"] == "card_declined"

    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_17500")
    buy(api, viewer, package_id="coins_7000")
    spendable(api, viewer, 24_500, timeout=60)
    assert send_gift(api, viewer, creator, "galaxy", quantity=22).status_code == 201
    account = PayoutSandbox.account(PayoutSandbox.FAILED)
    body = {
        "creator_id": creator,
        "country": "US",
        "birth_date": "1990-01-01",
        "payout_method": {"type": "bank", "account": account},
    }
    assert api.post("payout", "/v1/creators", body, key=None).status_code == 201
    wait_until(lambda: earnings(api, creator)["available"] == 22_000, timeout=60, message="diamonds credited")
    withdrawal = api.post("payout", "/v1/withdrawals", {"creator_id": creator, "amount_minor": 10_000}).json()
    path = f"/v1/withdrawals/{withdrawal['withdrawal_id']}"
    failed = wait_until(
        lambda: (w := api.get("payout", path).json())["status"] == "failed" and w,
        timeout=60,
        message="the withdrawal refused by the payout sandbox",
    )
    assert failed["failure_reason"]
    made = coins_platform.payouts.payout(withdrawal["withdrawal_id"])
    assert made is not None and made["status"] == "failed"
    assert earnings(api, creator)["available"] == 22_000  # the diamonds are back


def test_coinsctl_is_on_the_path_of_a_running_service_container(coins_platform):
    done = coins_platform.exec("gifting-web", ["coinsctl", "--help"])
    assert done.returncode == 0 and "Operate the coins platform" in done.stdout, done
    done = coins_platform.exec("payout-web", ["coinsctl", "payouts", "held", "--json"])
    assert done.returncode == 0 and json.loads(done.stdout) == [], done
    done = coins_platform.exec("purchase-web", ["coinsctl", "purchases", "held", "--json"])
    assert done.returncode == 0 and json.loads(done.stdout) == [], done


def test_the_readme_example_runs_as_written(coins_platform, monkeypatch):
    """The README's example, on this session's platform: CoinsPlatform(...) stands for it (its
    arguments checked against the real signature), so the example is not a second platform."""
    import inspect
    from pathlib import Path

    import coins_platform.testing as module

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (example,) = [b.split("```")[0] for b in readme.split("```python\n")[1:] if "coins_platform.testing" in b]

    class SessionPlatform:
        def __init__(self, **options):
            inspect.signature(module.CoinsPlatform).bind(**options)

        def __enter__(self):
            return coins_platform

        def __exit__(self, *_):
            return None

    monkeypatch.setattr(module, "CoinsPlatform", SessionPlatform)
    exec(compile(example, "README.md", "exec"), {})  # noqa: S102 - our own README
