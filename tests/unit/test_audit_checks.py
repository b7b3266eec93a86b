"""The auditor's checks on data (no I/O): each names what disagrees, with ids; each runs on its
own; a source that could not be read leaves its checks unchecked (exit 2), a mismatch fails (exit 1)."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from coinsctl.audit import CHECKS, FAIL, OK, UNCHECKED, report, run_checks
from coinsctl.audit.books import Unreadable, all_pages
from coinsctl.audit.checks import (
    Books,
    chargebacks_recorded,
    charges_match_purchases,
    diamonds_match_withdrawals,
    events_applied,
    gift_diamonds,
    gifts_credited,
    payouts_match_withdrawals,
    purchase_prices,
    purchases_credited,
    withdrawal_quotes,
)
from services.payout.adapters.processor import FAILED, PAID, PayoutRecord
from services.purchase.adapters.processor import APPROVED, DECLINED, UNKNOWN, ChargebackRecord, ChargeRecord
from shared.outbound import ReportUnavailable

RULES = {
    "min_withdrawal_minor": 10_000,
    "diamonds_per_usd": 200,
    "fees": {"bank": {"basis_points": 0, "fixed_minor": 0}, "paypal": {"basis_points": 200, "fixed_minor": 25}},
}


def purchase(pid, status="completed", *, country="US", package_id="coins_700", coins=700, amount=999, currency="USD"):
    return {
        "purchase_id": pid,
        "user_id": "ann",
        "country": country,
        "package_id": package_id,
        "coins": coins,
        "amount_minor": amount,
        "currency": currency,
        "status": status,
        "chargeback_id": "cb-1" if status == "reversed" else None,
        "chargeback_coins": coins if status == "reversed" else None,
        "chargeback_status": "reversed" if status == "reversed" else None,
    }


def withdrawal(wid, status="completed", *, creator="cleo", gross=10_000, method="paypal"):
    fee = -(-gross * 200 // 10_000) + 25 if method == "paypal" else 0
    return {
        "withdrawal_id": wid,
        "creator_id": creator,
        "diamonds": gross * 2,
        "gross_minor": gross,
        "fee_minor": fee,
        "net_minor": gross - fee,
        "currency": "USD",
        "payout_method": method,
        "status": status,
        "attempts": 1,
    }


def account(creator, credited, *, reserved, withdrawn, statuses=()) -> dict:
    """A creator's account with its withdrawals (w1, w2, ... of 20,000 diamonds) as payout lists them."""
    return {
        "creator_id": creator,
        "credited_diamonds": credited,
        "reserved_diamonds": reserved,
        "withdrawn_diamonds": withdrawn,
        "withdrawals": [
            {"withdrawal_id": f"w{n}", "diamonds": 20_000, "status": status} for n, status in enumerate(statuses, 1)
        ],
    }


def totals():
    return {
        "purchase": {
            "coins_bought": 1400,
            "coins_reversed": 700,
            "purchases_overdue": 0,
            "events_written": {"purchase.completed.v1": 2, "purchase.reversed.v1": 1},
            "events_applied": {},
        },
        "gifting": {
            "coins_credited": 1400,
            "coins_clawed_back": 700,
            "coins_in_wallets": 690,
            "coins_spent_on_gifts": 10,
            "diamonds_owed": 10,
            "wallets_ledger_mismatch": [],
            "events_written": {"gift.sent.v1": 1},
            "events_applied": {"purchase.completed.v1": 2, "purchase.reversed.v1": 1},
        },
        "payout": {
            "diamonds_credited": 10,
            "accounts_earnings_mismatch": [],
            "withdrawals_overdue": 0,
            "events_written": {},
            "events_applied": {"gift.sent.v1": 1},
        },
    }


@pytest.fixture
def books() -> Books:
    """Balanced books: two paid purchases (one charged back), one declined, one pending; three
    withdrawals (paid, failed, in flight); a gift."""
    return Books(
        totals=totals(),
        purchases=[
            purchase("p1"),
            purchase("p2", "reversed"),
            purchase("p3", "declined"),
            purchase("p4", "pending"),
            purchase("p5", package_id="custom", coins=100, amount=143),  # 499/350 per coin, rounded up
        ],
        charges=[
            ChargeRecord("p1", APPROVED, 999, "USD"),
            ChargeRecord("p2", APPROVED, 999, "USD"),
            ChargeRecord("p3", DECLINED, 999, "USD"),
            ChargeRecord("p4", APPROVED, 999, "USD"),  # settled, the purchase not yet: the reconciler's
            ChargeRecord("p5", APPROVED, 143, "USD"),
        ],
        chargebacks=[ChargebackRecord("cb-1", "p2", 999, "USD")],
        withdrawals=[withdrawal("w1"), withdrawal("w2", "failed"), withdrawal("w3", "processing", method="bank")],
        withdrawal_rules=copy.deepcopy(RULES),
        accounts=[
            account("cleo", 90_000, reserved=20_000, withdrawn=20_000, statuses=("completed", "failed", "processing"))
        ],
        payouts=[PayoutRecord("w1", PAID, 9_775, "USD"), PayoutRecord("w2", FAILED, 9_775, "USD")],
        gifts=[
            {
                "gift_tx_id": "g1",
                "creator_id": "cleo",
                "gift_id": "rose",
                "quantity": 10,
                "coins_each": 1,
                "total_coins": 10,
                "diamonds": 10,
            }
        ],
        gift_rules={"diamonds_per_coin": 1},
        earnings=[{"gift_tx_id": "g1", "creator_id": "cleo", "diamonds": 10}],
        credits=[credit("p1"), credit("p2"), credit("p5", coins=100)],
        clawbacks=[credit("cb-1")],
    )


def credit(reference: str, user_id: str = "ann", coins: int = 700) -> dict:
    """A wallet entry of gifting's: a purchase's coins credited, or a chargeback's clawed back."""
    return {"reference": reference, "user_id": user_id, "coins": coins}


def texts(problems) -> list[str]:
    return [p.text for p in problems]


def test_balanced_books_pass_every_check(books):
    result = report(books, run_checks(books))
    assert [r.status for r in result.results] == [OK] * len(result.results), result.problems
    assert result.ok and result.exit_code == 0


def test_a_charge_settled_for_another_amount_is_named(books):
    books.charges[0] = ChargeRecord("p1", APPROVED, 1, "USD")
    assert texts(charges_match_purchases(books)) == [
        "purchase p1: the processor settled 1 USD, the purchase is priced 999 USD",
        "USD settled at the card processor for paid purchases != paid purchases' prices: 1143 != 2141",
    ]
    books.charges[0] = ChargeRecord("p1", APPROVED, 999, "EUR")
    assert "the processor settled 999 EUR" in texts(charges_match_purchases(books))[0]


def test_money_taken_without_coins_is_named(books):
    books.charges += [ChargeRecord("p3", APPROVED, 999, "USD"), ChargeRecord("ghost", APPROVED, 499, "USD")]
    del books.charges[2]  # p3's declined charge is now settled
    found = texts(charges_match_purchases(books))
    assert "charge ghost (499 USD) settled at the processor with no purchase: money taken without coins" in found
    assert "purchase p3 is declined but its charge (999 USD) settled: money taken without coins" in found


def test_coins_without_money_are_named(books):
    books.charges[0] = ChargeRecord("p1", UNKNOWN, 999, "USD")
    books.charges.pop(1)
    found = texts(charges_match_purchases(books))
    assert "purchase p1 is completed (700 coins) but the processor has unknown: coins without money" in found
    assert "purchase p2 is reversed (700 coins) but the processor has no charge: coins without money" in found


def test_a_chargeback_the_purchase_never_recorded_is_named(books):
    books.chargebacks.append(ChargebackRecord("cb-2", "p1", 999, "USD"))
    assert texts(chargebacks_recorded(books)) == [
        "chargeback cb-2 at the processor (999 USD) is not recorded in purchase p1 (completed): its 700 coins were kept"
    ]


def test_a_chargeback_recorded_while_its_purchase_is_pending_is_applied_when_it_settles(books):
    """A chargeback reported while its purchase was pending is recorded, and applied when it settles."""
    books.purchases[3] |= {"chargeback_id": "cb-3", "chargeback_status": "pending"}
    books.chargebacks.append(ChargebackRecord("cb-3", "p4", 999, "USD"))
    assert chargebacks_recorded(books) == []
    books.purchases[3]["status"] = "completed"  # settled, and the chargeback left pending
    assert texts(chargebacks_recorded(books)) == [
        "chargeback cb-3 is recorded but not applied to purchase p4, completed: its 700 coins were kept"
    ]


def test_a_chargeback_at_the_processor_recorded_void_is_named(books):
    """The processor took the money back, yet the purchase is completed with its chargeback void
    ("nothing was taken", right only for a purchase that was never charged): its coins were kept."""
    books.purchases[0] |= {"chargeback_id": "cb-9", "chargeback_coins": 700, "chargeback_status": "void"}
    books.chargebacks.append(ChargebackRecord("cb_p1", "p1", 999, "USD"))
    assert texts(chargebacks_recorded(books)) == [
        "chargeback cb_p1 at the processor (999 USD) is recorded void in purchase p1 (completed): "
        "money went back for a charge the ledger says took none"
    ]


def test_coins_taken_back_for_a_chargeback_the_processor_never_made_are_named(books):
    """A purchase reversed in the ledger (a chargeback reported for the wrong purchase, say) whose
    payment the processor never charged back: the buyer lost the coins, the money stayed."""
    books.purchases[0] |= {"status": "reversed", "chargeback_id": "cb-9", "chargeback_coins": 700}
    books.purchases[0]["chargeback_status"] = "reversed"
    assert texts(chargebacks_recorded(books)) == [
        "purchase p1 (reversed) holds chargeback cb-9 (reversed), but the processor reports no chargeback of it: "
        "coins taken back for money it kept"
    ]
    books.purchases[0]["chargeback_status"] = "void"  # void: nothing taken back, nothing to match
    assert chargebacks_recorded(books) == []


def test_purchases_settling_while_each_read_runs_are_no_confirmed_mismatch(books):
    """Live traffic: in each read another purchase completed after the card processor's report was
    read and before the ledger was. Each is rightly left unconfirmed, and so is their sum, though
    the two differences are the same amount (two purchases of one price)."""
    first, second = copy.deepcopy(books), copy.deepcopy(books)
    first.purchases.append(purchase("p6"))  # completed after the report: its charge not in it yet
    first.credits.append(credit("p6"))
    second.credits.append(credit("p6"))
    first.charges.append(ChargeRecord("p6", UNKNOWN, 999, "USD"))
    second.purchases += [purchase("p6"), purchase("p7")]  # p6 settled by now; p7 in this read's gap
    second.charges.append(ChargeRecord("p6", APPROVED, 999, "USD"))
    item_checks = tuple(c for c in CHECKS if not any(n.startswith("totals.") for n in c.needs))
    result = report(first, run_checks(first), run_checks(second, item_checks))
    assert result.ok, result.problems
    again = copy.deepcopy(first)  # p6 completed, its charge unsettled, on both reads: named, and its sum
    result = report(first, run_checks(first), run_checks(again, item_checks))
    assert [p.split(":")[0] for p in result.problems] == ["card processor charges = purchases"] * 2
    assert "purchase p6 is completed" in result.problems[0] and "!=" in result.problems[1]


def test_a_withdrawal_failed_but_paid_is_named_paid_twice(books):
    books.payouts[1] = PayoutRecord("w2", PAID, 9_775, "USD")
    assert texts(payouts_match_withdrawals(books)) == [
        "withdrawal w2 failed (its 20000 diamonds returned) but the processor paid 9775 USD: paid twice"
    ]


def test_a_payout_paid_for_a_withdrawal_held_for_an_operator_is_named(books):
    books.withdrawals[2]["status"] = "held"
    books.payouts.append(PayoutRecord("w3", PAID, 10_000, "USD"))
    assert texts(payouts_match_withdrawals(books)) == [
        "withdrawal w3 is held (its 20000 diamonds not withdrawn) but the processor paid 10000 USD"
    ]


def test_payouts_and_withdrawals_disagreeing_are_named(books):
    books.payouts = [
        PayoutRecord("w1", PAID, 9_000, "USD"),
        PayoutRecord("w3", PAID, 10_000, "USD"),  # in flight: the worker's to settle, not a mismatch
        PayoutRecord("stray", PAID, 100, "USD"),
    ]
    found = texts(payouts_match_withdrawals(books))
    assert found == [
        "payout stray (100 USD) with no withdrawal",
        "withdrawal w1: the processor paid 9000 USD, its net is 9775 USD",
        "USD paid by the payout processor for completed withdrawals != their net: 9000 != 9775",
    ]
    books.payouts = [PayoutRecord("w1", PAID, 9_775, "USD"), PayoutRecord("w1", PAID, 9_775, "USD")]
    assert "withdrawal w1: paid 2 times by the processor" in texts(payouts_match_withdrawals(books))
    books.payouts = []
    assert "withdrawal w1 completed (20000 diamonds withdrawn) but the processor has no payout" in texts(
        payouts_match_withdrawals(books)
    )


def test_reserved_and_withdrawn_diamonds_follow_the_withdrawals(books):
    assert diamonds_match_withdrawals(books) == []
    books.accounts[0]["reserved_diamonds"] = 0  # w3's diamonds released while it is still in flight
    books.accounts.append(account("dora", 10, reserved=0, withdrawn=10))
    books.withdrawals.append(withdrawal("w9", creator="nobody"))
    assert texts(diamonds_match_withdrawals(books)) == [
        "creator cleo: 0 diamonds reserved, their withdrawals say 20000",
        "creator dora: 10 diamonds withdrawn, their withdrawals say 0",
        "withdrawal w9: no account nobody",
        "diamonds reserved in all accounts != in their withdrawals: 0 != 20000",
        "diamonds withdrawn in all accounts != in their withdrawals: 20010 != 20000",
    ]


def test_purchase_prices_are_recomputed_from_the_price_lists(books):
    books.purchases[0]["amount_minor"] = 998
    books.purchases[4]["amount_minor"] = 142  # a custom amount rounded down
    books.purchases.append(purchase("p6", package_id="coins_700", coins=700, amount=999, currency="USD", country="ZZ"))
    found = texts(purchase_prices(books))
    assert found[:2] == [
        "purchase p1 (US, coins_700): 700 coins for 998 USD, the rules say 700 for 999 USD",
        "purchase p5 (US, custom): 100 coins for 142 USD, the rules say 100 for 143 USD",
    ]
    assert found[2].startswith("purchase p6: Coins are not priced for country 'ZZ'")


def test_withdrawal_fees_and_conversions_are_recomputed_from_the_rules(books):
    books.withdrawals[0] = {**books.withdrawals[0], "fee_minor": 200, "net_minor": 9_800}  # the fixed fee left out
    books.withdrawals[1] = {**books.withdrawals[1], "diamonds": 19_999}
    found = texts(withdrawal_quotes(books))
    assert found == [
        "withdrawal w1 (paypal, gross 10000): diamonds/fee/net 20000/200/9800 USD, the rules say 20000/225/9775 USD",
        "withdrawal w2 (paypal, gross 10000): diamonds/fee/net 19999/225/9775 USD, the rules say 20000/225/9775 USD",
    ]
    books.withdrawal_rules = copy.deepcopy(RULES) | {"diamonds_per_usd": 100}
    assert len(withdrawal_quotes(books)) == 3


def test_gift_diamonds_are_recomputed_from_the_rules(books):
    books.gifts[0]["diamonds"] = 20
    assert texts(gift_diamonds(books)) == ["gift g1: 10 x 1 coins = 10, 20 diamonds; the rules say 10"]


def test_a_lagging_flow_is_one_failure_and_every_other_check_still_runs(books):
    books.totals["payout"]["events_applied"]["gift.sent.v1"] = 0  # a dead letter
    books.payouts[1] = PayoutRecord("w2", PAID, 9_775, "USD")
    result = report(books, run_checks(books))
    failed = {r.name: r.problems for r in result.results if r.status == FAIL}
    assert failed == {
        "every event written is applied": ["gift.sent.v1: 1 written by gifting, 0 applied by payout"],
        "processor payouts = withdrawals": [
            "withdrawal w2 failed (its 20000 diamonds returned) but the processor paid 9775 USD: paid twice"
        ],
    }
    assert result.exit_code == 1
    assert sum(r.status == OK for r in result.results) == len(result.results) - 2


def test_an_unreadable_source_leaves_only_its_checks_unchecked(books):
    books.payouts = None
    books.unreadable["payouts"] = "payout processor: no answer"
    result = report(books, run_checks(books))
    unchecked = [(r.name, r.problems) for r in result.results if r.status == UNCHECKED]
    assert unchecked == [("processor payouts = withdrawals", ["payouts not read: payout processor: no answer"])]
    assert result.exit_code == 2 and not result.ok
    books.withdrawals[0]["fee_minor"] = 0
    assert report(books, run_checks(books)).exit_code == 1  # a mismatch found elsewhere: they do not balance


def test_an_item_mismatch_counts_only_if_a_second_read_finds_it_again(books):
    moving = copy.deepcopy(books)
    moving.charges[0] = ChargeRecord("p1", UNKNOWN, 999, "USD")  # read before its charge settled
    result = report(moving, run_checks(moving), run_checks(books))
    assert result.ok, result.problems
    result = report(moving, run_checks(moving), run_checks(moving))
    assert result.exit_code == 1 and "purchase p1 is completed" in result.problems[0]


def test_events_applied_names_each_lagging_flow(books):
    books.totals["gifting"]["events_applied"] = {}
    assert [p.key for p in events_applied(books)] == ["lag:purchase.completed.v1", "lag:purchase.reversed.v1"]


def test_a_processor_report_is_read_page_by_page_and_an_unreadable_one_says_so():
    pages = {None: (["a", "b"], "b"), "b": (["c"], None)}
    assert all_pages(lambda cursor: pages[cursor]) == ["a", "b", "c"]

    def down(cursor):
        raise ReportUnavailable("card processor: no answer")

    with pytest.raises(Unreadable, match="no answer"):
        all_pages(down)


def test_a_check_that_cannot_read_its_rows_is_unchecked_and_the_others_still_run(books):
    del books.withdrawal_rules["fees"]
    result = report(books, run_checks(books))
    [unchecked] = [r for r in result.results if r.status == UNCHECKED]
    assert unchecked.name == "withdrawal diamonds, fees, net = the rules"
    assert unchecked.problems == ["a row not understood: KeyError 'fees'"]
    assert result.exit_code == 2 and sum(r.status == OK for r in result.results) == len(result.results) - 1


def test_a_source_lost_on_the_second_read_leaves_its_check_unchecked(books):
    broken = copy.deepcopy(books)
    broken.payouts[1] = PayoutRecord("w2", PAID, 9_775, "USD")
    gone = copy.deepcopy(books)
    gone.payouts, gone.unreadable["payouts"] = None, "payout processor: no answer"
    result = report(broken, run_checks(broken), run_checks(gone))
    [unchecked] = [r for r in result.results if r.status != OK]
    assert (unchecked.status, unchecked.problems) == (UNCHECKED, ["payouts not read: payout processor: no answer"])
    assert result.exit_code == 2


def test_every_gift_is_credited_once_to_its_creator_with_its_diamonds(books):
    books.gifts.append({**books.gifts[0], "gift_tx_id": "g2"})  # a dead letter: never credited
    books.earnings += [
        {"gift_tx_id": "g0", "creator_id": "cleo", "diamonds": 5},
        {"gift_tx_id": "g1", "creator_id": "dora", "diamonds": 10},
    ]
    del books.earnings[0]
    assert texts(gifts_credited(books)) == [
        "cleo credited 5 diamonds for no gift g0",
        "gift g1: 10 diamonds owed to cleo, 10 credited to dora",
        "gift g2: 10 diamonds never credited to cleo",
    ]


def test_coinsctl_audit_prints_one_line_per_check_and_exits_with_the_verdict(books, monkeypatch):
    import json

    from click.testing import CliRunner

    import coinsctl.audit
    from coinsctl.cli import main

    books.payouts[1] = PayoutRecord("w2", PAID, 9_775, "USD")
    monkeypatch.setattr(coinsctl.audit, "audit", lambda *a, **k: report(books, run_checks(books)))
    result = CliRunner().invoke(main, ["audit"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "FAIL      processor payouts = withdrawals" in lines
    assert (
        "          withdrawal w2 failed (its 20000 diamonds returned) but the processor paid 9775 USD: paid twice"
        in lines
    )
    assert "OK        card processor charges = purchases" in lines
    as_json = CliRunner().invoke(main, ["audit", "--json"])
    checks = {c["name"]: c["status"] for c in json.loads(as_json.stdout.split("\naudit:")[0])["checks"]}
    assert checks["processor payouts = withdrawals"] == FAIL and as_json.exit_code == 1
    books.payouts, books.unreadable["payouts"] = None, "no answer"
    assert CliRunner().invoke(main, ["audit"]).exit_code == 2


def test_every_purchase_is_credited_once_to_its_buyer_and_every_chargeback_clawed_back(books):
    """The purchase flows item by item, as gifts' are: a credit lost (its event dead-lettered),
    made for another user or amount, or made for no paid purchase is named with its ids, where
    the sums only say by how much they differ."""
    assert purchases_credited(books) == []
    books.credits = [credit("p2", coins=1_400), credit("p4"), credit("p5", user_id="bob", coins=100)]
    books.clawbacks = []
    assert texts(purchases_credited(books)) == [
        "purchase p1 (completed): 700 coins never credited to ann",
        "p2: 700 coins owed credited to ann, 1400 credited to ann",
        "700 coins credited to ann for p4: no such credit due",
        "p5: 100 coins owed credited to ann, 100 credited to bob",
        "purchase p2 (reversed): 700 coins never clawed back from ann",
    ]


def scripted(books, monkeypatch, totals_reads: list, books_reads: list) -> list[str]:
    """`audit` (run_audit: a one-second wait and poll, on a clock that moves only when it sleeps)
    reads these totals one after another and these listings (`books_reads`, given the totals), the
    last of each again and again. Returns what it read, in order."""
    import types

    import coinsctl.audit

    clock, reads = [0.0], []
    fake_time = types.SimpleNamespace(monotonic=lambda: clock[0], sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    monkeypatch.setattr(coinsctl.audit, "time", fake_time)

    def read_totals(reader):
        reads.append("totals")
        return (totals_reads.pop(0) if len(totals_reads) > 1 else totals_reads[0]), {}

    def read_books(reader, processors, totals, unreadable):
        reads.append("books")
        return dataclasses.replace(books_reads.pop(0) if len(books_reads) > 1 else books_reads[0], totals=totals)

    monkeypatch.setattr(coinsctl.audit, "read_totals", read_totals)
    monkeypatch.setattr(coinsctl.audit, "read_books", read_books)
    return reads


def run_audit():
    from coinsctl.audit import audit

    return audit({}, lambda service: "", processors=None, wait_s=1, poll_s=1)


def in_flight(books, n: int) -> dict:
    """The totals n purchases of 700 coins after `books`' own, the last of them in flight at this
    read (written and bought, not yet applied and credited): no read ever sees them settle."""
    totals = copy.deepcopy(books.totals)
    p, g = totals["purchase"], totals["gifting"]
    p["events_written"]["purchase.completed.v1"] += n + 1
    g["events_applied"]["purchase.completed.v1"] += n
    p["coins_bought"] += 700 * (n + 1)
    g["coins_credited"] += 700 * n
    g["coins_in_wallets"] += 700 * n
    return totals


def with_purchase(books, pid: str, credited: bool) -> Books:
    more = copy.deepcopy(books)
    more.purchases.append(purchase(pid))
    more.charges.append(ChargeRecord(pid, APPROVED, 999, "USD"))
    more.credits += [credit(pid)] if credited else []
    return more


def test_under_traffic_the_flows_are_checked_item_by_item(books, monkeypatch):
    """Some purchase is always in flight: no totals read is settled, yet the books balance. The
    one in flight at the first item read is credited by the second."""
    totals = [in_flight(books, n) for n in (0, 1, 2, 3, 4)]
    reads = scripted(books, monkeypatch, totals, [with_purchase(books, "p6", False), with_purchase(books, "p6", True)])
    result = run_audit()
    assert result.ok and result.under_traffic, result.problems
    assert reads == ["totals"] * 3 + ["books", "totals", "books"]


def test_under_traffic_a_purchase_never_credited_is_named(books, monkeypatch):
    """Traffic during the wait cannot make up for a purchase whose event was lost before it."""
    lost = copy.deepcopy(books)
    lost.credits = [c for c in lost.credits if c["reference"] != "p1"]
    scripted(books, monkeypatch, [in_flight(books, n) for n in (0, 1, 2, 3, 4)], [lost])
    result = run_audit()
    assert result.under_traffic and result.problems == [
        "every purchase credited once, every chargeback clawed back: "
        "purchase p1 (completed): 700 coins never credited to ann"
    ]


def test_a_quiet_flow_that_lags_is_still_checked_by_its_totals(books, monkeypatch):
    scripted(books, monkeypatch, [in_flight(books, 0)], [with_purchase(books, "p6", False)])
    result = run_audit()
    assert not result.under_traffic and [p.split(":")[0] for p in result.problems] == [
        "every event written is applied",
        "coins credited = coins bought",
        "bought - reversed = in wallets + spent",
        "every purchase credited once, every chargeback clawed back",
    ]


def moving_world(books, monkeypatch, totals_at, books_at) -> list:
    """`audit` against a world that moves with the fake clock (which moves only when the auditor
    sleeps): `totals_at(t, n)` is the n-th totals read at time t, `books_at(t)` the listings.
    Returns what was read, when."""
    scripted(books, monkeypatch, [books.totals], [books])
    import coinsctl.audit

    clock, reads = coinsctl.audit.time.monotonic, []

    def read_totals(reader):
        reads.append(("totals", clock()))
        return totals_at(clock(), len(reads)), {}

    def read_books(reader, processors, totals, unreadable):
        reads.append(("books", clock()))
        return dataclasses.replace(books_at(clock()), totals=totals)

    monkeypatch.setattr(coinsctl.audit, "read_totals", read_totals)
    monkeypatch.setattr(coinsctl.audit, "read_books", read_books)
    return reads


def applied(books, n: int) -> dict:
    """The totals n purchases of 700 coins after `books`' own, all applied and credited."""
    totals = copy.deepcopy(books.totals)
    p, g = totals["purchase"], totals["gifting"]
    p["events_written"]["purchase.completed.v1"] += n
    g["events_applied"]["purchase.completed.v1"] += n
    p["coins_bought"] += 700 * n
    g["coins_credited"] += 700 * n
    g["coins_in_wallets"] += 700 * n
    return totals


def test_traffic_resuming_after_a_settled_read_leaves_no_purchase_in_flight_confirmed(books, monkeypatch):
    """The wait ends on one settled read (traffic paused a moment), then p6 is bought: in flight at
    the first item read, credited a second later. Read again at once, it would be confirmed."""

    def totals_at(t, n):
        if n == 1:
            return copy.deepcopy(books.totals)  # settled: nothing in flight
        return in_flight(books, 0) if t < 1 else applied(books, 1)

    moving_world(books, monkeypatch, totals_at, lambda t: with_purchase(books, "p6", credited=t >= 1))
    result = run_audit()
    assert result.ok, result.problems


def test_later_events_never_stand_in_for_one_still_in_flight(books, monkeypatch):
    """Under traffic (a purchase a second, each applied at once), p6's event waits on a partition
    whose consumer backs off (transient errors: retried, never lost) until t=9. As many events as
    the first read saw written are applied by t=7, p6 not among them: p6 is read again until it is
    credited, within the wait."""
    from coinsctl.audit import audit

    def totals_at(t, n):
        totals = applied(books, int(t))  # the purchases after p6: applied at once
        totals["purchase"]["events_written"]["purchase.completed.v1"] += 1  # p6: written at t=0
        totals["purchase"]["coins_bought"] += 700
        if t >= 9:
            totals["gifting"]["events_applied"]["purchase.completed.v1"] += 1
            totals["gifting"]["coins_credited"] += 700
            totals["gifting"]["coins_in_wallets"] += 700
        return totals

    reads = moving_world(books, monkeypatch, totals_at, lambda t: with_purchase(books, "p6", credited=t >= 9))
    result = audit({}, lambda service: "", processors=None, wait_s=5, poll_s=1)
    assert result.under_traffic and result.ok, (reads, result.problems)


def test_a_purchase_never_credited_is_named_once_nothing_moves(books, monkeypatch):
    """Lost while the books were quiet: read again once, no wait for traffic that is not there."""
    lost = copy.deepcopy(books)
    lost.credits = [c for c in lost.credits if c["reference"] != "p1"]
    reads = scripted(books, monkeypatch, [books.totals], [lost])
    result = run_audit()
    assert reads == ["totals", "books", "totals", "books"]
    assert result.problems == [
        "every purchase credited once, every chargeback clawed back: "
        "purchase p1 (completed): 700 coins never credited to ann"
    ]
