"""The auditor's checks: small pure functions over the books the auditor fetched (books.py).

Each check takes the `Books` and returns the problems it found (none: the books balance there).
A problem has a key (what it is about: an id, or the check itself for a sum) and a sentence that
names the ids and amounts. The rules are recomputed with the services' own domain functions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from services.gifting.domain.rules import GiftingRules
from services.payout.adapters.processor import PAID, PayoutRecord
from services.payout.domain.model import COMPLETED as WITHDRAWAL_COMPLETED
from services.payout.domain.model import FAILED as WITHDRAWAL_FAILED
from services.payout.domain.model import PENDING as WITHDRAWAL_PENDING
from services.payout.domain.model import PROCESSING as WITHDRAWAL_PROCESSING
from services.payout.domain.rules import Fee, PayoutRules
from services.purchase.adapters.processor import APPROVED, ChargebackRecord, ChargeRecord
from services.purchase.domain.model import (
    CHARGEBACK_PENDING,
    CHARGEBACK_REVERSED,
    CHARGEBACK_VOID,
    COMPLETED,
    PENDING,
    REVERSED,
)
from services.purchase.domain.pricing import price_list_for
from shared.errors import DomainError

# topic -> (service whose outbox writes it, service whose consumer applies it)
FLOWS = {
    "purchase.completed.v1": ("purchase", "gifting"),
    "purchase.reversed.v1": ("purchase", "gifting"),
    "gift.sent.v1": ("gifting", "payout"),
}
PAID_PURCHASE = (COMPLETED, REVERSED)  # the card was charged and the coins credited
_SETTLED_WITHDRAWAL = (WITHDRAWAL_COMPLETED, WITHDRAWAL_FAILED)  # any other status holds its diamonds reserved


@dataclass(frozen=True)
class Problem:
    key: str  # what it is about and by how much: a lasting problem has the same key on a second read
    text: str


@dataclass
class Books:
    """Everything the auditor read. A source it could not read is missing (None) and named in
    `unreadable` with why; the checks that need it are then not run."""

    totals: dict[str, dict] = field(default_factory=dict)  # per service, GET /v1/internal/totals
    # Events kept coming through the wait (some were always in flight, in any read): the flows
    # between services are then checked item by item (gifts_credited, purchases_credited), not
    # by their totals, which no one read sees settled.
    under_traffic: bool = False
    purchases: list[dict] | None = None
    charges: list[ChargeRecord] | None = None
    chargebacks: list[ChargebackRecord] | None = None
    withdrawals: list[dict] | None = None
    withdrawal_rules: dict | None = None
    accounts: list[dict] | None = None
    payouts: list[PayoutRecord] | None = None
    gifts: list[dict] | None = None
    gift_rules: dict | None = None
    earnings: list[dict] | None = None
    credits: list[dict] | None = None  # gifting's entries of purchases' coins credited, by purchase id
    clawbacks: list[dict] | None = None  # gifting's entries of coins clawed back, by chargeback id
    unreadable: dict[str, str] = field(default_factory=dict)  # source -> why


@dataclass(frozen=True)
class Check:
    name: str
    needs: tuple[str, ...]  # Books fields it reads ("totals.<service>" for one service's totals)
    run: Callable[[Books], list[Problem]]


def _sum(name: str, left: int, right: int, what: str, because: list[Problem] | None = None) -> list[Problem]:
    """Keyed by the difference: a lasting one is the same on a second read whatever else moved. A
    sum over items each checked on its own (`because`: their problems) is keyed by those items
    too: two reads whose items differ for different reasons (a purchase in flight in each, of the
    same price) are not the same problem."""
    if left == right:
        return []
    items = f":{','.join(sorted(p.key for p in because))}" if because is not None else ""
    return [Problem(f"{name}:{left - right}{items}", f"{what}: {left} != {right}")]


# --- the totals each service reports --------------------------------------------------------


def events_applied(books: Books) -> list[Problem]:
    """Every event written to an outbox has been applied by its consumer (a lag names the flow).
    Under traffic, each event's effect is looked for instead (a stuck flow leaves its items
    uncredited on every read: the item checks name them)."""
    if books.under_traffic:
        return []
    problems = []
    for topic, (producer, consumer) in FLOWS.items():
        written = books.totals[producer]["events_written"].get(topic, 0)
        applied = books.totals[consumer]["events_applied"].get(topic, 0)
        if applied != written:
            problems.append(
                Problem(f"lag:{topic}", f"{topic}: {written} written by {producer}, {applied} applied by {consumer}")
            )
    return problems


def coins_credited(books: Books) -> list[Problem]:
    """Under traffic: purchases_credited, item by item (every item matched is every sum equal)."""
    if books.under_traffic:
        return []
    p, g = books.totals["purchase"], books.totals["gifting"]
    return _sum("coins_credited", g["coins_credited"], p["coins_bought"], "coins credited to wallets != coins bought")


def coins_clawed_back(books: Books) -> list[Problem]:
    """Under traffic: purchases_credited, item by item."""
    if books.under_traffic:
        return []
    p, g = books.totals["purchase"], books.totals["gifting"]
    return _sum("coins_clawed_back", g["coins_clawed_back"], p["coins_reversed"], "clawed back != reversed")


def coins_conserved(books: Books) -> list[Problem]:
    """Under traffic, within gifting's one read: what reached the wallets is in them or was spent
    (what purchase made against what reached them: purchases_credited)."""
    p, g = books.totals["purchase"], books.totals["gifting"]
    if books.under_traffic:
        return _sum(
            "coins_conserved",
            g["coins_credited"] - g["coins_clawed_back"],
            g["coins_in_wallets"] + g["coins_spent_on_gifts"],
            "coins credited - clawed back != in wallets + spent on gifts",
        )
    return _sum(
        "coins_conserved",
        p["coins_bought"] - p["coins_reversed"],
        g["coins_in_wallets"] + g["coins_spent_on_gifts"],
        "coins bought - reversed != in wallets + spent on gifts",
    )


def diamonds_credited(books: Books) -> list[Problem]:
    """Under traffic: gifts_credited, item by item."""
    if books.under_traffic:
        return []
    g, o = books.totals["gifting"], books.totals["payout"]
    return _sum("diamonds_credited", g["diamonds_owed"], o["diamonds_credited"], "diamonds owed for gifts != credited")


def wallets_match_ledgers(books: Books) -> list[Problem]:
    return [
        Problem(f"wallet:{user}", f"wallet {user}: balance differs from the sum of its ledger")
        for user in books.totals["gifting"]["wallets_ledger_mismatch"]
    ]


def accounts_match_earnings(books: Books) -> list[Problem]:
    return [
        Problem(f"creator:{creator}", f"creator {creator}: credited diamonds differ from the sum of their earnings")
        for creator in books.totals["payout"]["accounts_earnings_mismatch"]
    ]


def purchases_in_time(books: Books) -> list[Problem]:
    n = books.totals["purchase"].get("purchases_overdue", 0)
    return [Problem("purchases_overdue", f"{n} purchases pending longer than the reconciler's bound")] if n else []


def withdrawals_in_time(books: Books) -> list[Problem]:
    n = books.totals["payout"].get("withdrawals_overdue", 0)
    return [Problem("withdrawals_overdue", f"{n} withdrawals in flight longer than the worker's bound")] if n else []


# --- the ledgers against the processors' books ----------------------------------------------


def charges_match_purchases(books: Books) -> list[Problem]:
    """Every paid purchase has a settled charge of its amount and currency, and every settled
    charge a paid purchase (a pending one is the reconciler's, and has its own bound)."""
    purchases = {p["purchase_id"]: p for p in books.purchases}
    charges: dict[str, list[ChargeRecord]] = defaultdict(list)
    for charge in books.charges:
        charges[charge.payment_id].append(charge)
    problems, charged, paid = [], Counter(), Counter()
    for payment_id in sorted(purchases.keys() | charges.keys()):
        purchase, settled = purchases.get(payment_id), [c for c in charges.get(payment_id, []) if c.outcome == APPROVED]
        status = purchase["status"] if purchase else None
        if len(settled) > 1:
            problems.append(Problem(f"charge:{payment_id}", f"purchase {payment_id}: charged {len(settled)} times"))
        if settled and status is None:
            problems.append(
                Problem(
                    f"charge:{payment_id}",
                    f"charge {payment_id} ({_money(settled[0].amount_minor, settled[0].currency)}) settled at the "
                    "processor with no purchase: money taken without coins",
                )
            )
        elif settled and status not in (*PAID_PURCHASE, PENDING):
            problems.append(
                Problem(
                    f"charge:{payment_id}",
                    f"purchase {payment_id} is {status} but its charge "
                    f"({_money(settled[0].amount_minor, settled[0].currency)}) settled: money taken without coins",
                )
            )
        elif status in PAID_PURCHASE and not settled:
            found = charges.get(payment_id)
            at_processor = found[0].outcome if found else "no charge"
            problems.append(
                Problem(
                    f"charge:{payment_id}",
                    f"purchase {payment_id} is {status} ({purchase['coins']} coins) but the processor has "
                    f"{at_processor}: coins without money",
                )
            )
        elif status in PAID_PURCHASE:
            charge = settled[0]
            asked = (purchase["amount_minor"], purchase["currency"])
            if (charge.amount_minor, charge.currency) != asked:
                problems.append(
                    Problem(
                        f"charge:{payment_id}",
                        f"purchase {payment_id}: the processor settled {_money(charge.amount_minor, charge.currency)}"
                        f", the purchase is priced {_money(*asked)}",
                    )
                )
        if status in PAID_PURCHASE:
            paid[purchase["currency"]] += purchase["amount_minor"]
            for charge in settled:
                charged[charge.currency] += charge.amount_minor
    items = list(problems)
    for currency in sorted(paid.keys() | charged.keys()):
        problems += _sum(
            f"charges_sum:{currency}",
            charged[currency],
            paid[currency],
            f"{currency} settled at the card processor for paid purchases != paid purchases' prices",
            because=items,
        )
    return problems


def chargebacks_recorded(books: Books) -> list[Problem]:
    """Every chargeback at the processor is recorded against its purchase in the ledger and not
    void (the money went back to the card holder: the coins must be taken back), and every
    chargeback the ledger holds (pending or applied) is one the processor made (coins are taken
    back only for money that went back)."""
    purchases = {p["purchase_id"]: p for p in books.purchases}
    problems = _chargebacks_the_processor_never_made(books)
    for chargeback in sorted(books.chargebacks, key=lambda c: c.payment_id):
        purchase = purchases.get(chargeback.payment_id)
        key = f"chargeback:{chargeback.chargeback_id}"
        if purchase is None:
            problems.append(
                Problem(
                    key, f"chargeback {chargeback.chargeback_id}: no purchase {chargeback.payment_id} in the ledger"
                )
            )
        elif purchase["status"] == COMPLETED and purchase.get("chargeback_status") == CHARGEBACK_PENDING:
            problems.append(
                Problem(
                    key,
                    f"chargeback {chargeback.chargeback_id} is recorded but not applied to purchase "
                    f"{chargeback.payment_id}, completed: its {purchase['coins']} coins were kept",
                )
            )
        elif purchase.get("chargeback_status") == CHARGEBACK_VOID:
            problems.append(
                Problem(
                    key,
                    f"chargeback {chargeback.chargeback_id} at the processor "
                    f"({_money(chargeback.amount_minor, chargeback.currency)}) is recorded void in purchase "
                    f"{chargeback.payment_id} ({purchase['status']}): money went back for a charge the ledger "
                    "says took none",
                )
            )
        elif purchase["status"] != REVERSED and not purchase.get("chargeback_id"):
            problems.append(
                Problem(
                    key,
                    f"chargeback {chargeback.chargeback_id} at the processor "
                    f"({_money(chargeback.amount_minor, chargeback.currency)}) is not recorded in purchase "
                    f"{chargeback.payment_id} ({purchase['status']}): its {purchase['coins']} coins were kept",
                )
            )
        elif (chargeback.amount_minor, chargeback.currency) != (purchase["amount_minor"], purchase["currency"]):
            problems.append(
                Problem(
                    key,
                    f"chargeback {chargeback.chargeback_id} of {_money(chargeback.amount_minor, chargeback.currency)} "
                    f"for purchase {chargeback.payment_id} of "
                    f"{_money(purchase['amount_minor'], purchase['currency'])}",
                )
            )
    return problems


def _chargebacks_the_processor_never_made(books: Books) -> list[Problem]:
    """Purchases holding a chargeback (pending, or applied: coins taken back) when the processor
    reports none for their payment (the ledger's chargeback id is its own: matched by payment)."""
    charged_back = {c.payment_id for c in books.chargebacks}
    problems = []
    for purchase in sorted(books.purchases, key=lambda p: p["purchase_id"]):
        chargeback_id, status = purchase.get("chargeback_id"), purchase.get("chargeback_status")
        if chargeback_id and status != CHARGEBACK_VOID and purchase["purchase_id"] not in charged_back:
            problems.append(
                Problem(
                    f"chargeback:{purchase['purchase_id']}",
                    f"purchase {purchase['purchase_id']} ({purchase['status']}) holds chargeback {chargeback_id} "
                    f"({status}), but the processor reports no chargeback of it: coins taken back for money it kept",
                )
            )
    return problems


def payouts_match_withdrawals(books: Books) -> list[Problem]:
    """Every completed withdrawal has exactly one paid payout of its net and currency, and every
    paid payout a completed withdrawal (one in flight is the worker's, and has its own bound; one
    held for an operator, or failed, that the processor paid is named)."""
    withdrawals = {w["withdrawal_id"]: w for w in books.withdrawals}
    payouts: dict[str, list[PayoutRecord]] = defaultdict(list)
    for payout in books.payouts:
        payouts[payout.payout_id].append(payout)
    problems, sent, owed = [], Counter(), Counter()
    for payout_id in sorted(withdrawals.keys() | payouts.keys()):
        withdrawal, paid = withdrawals.get(payout_id), [p for p in payouts.get(payout_id, []) if p.outcome == PAID]
        status, key = (withdrawal["status"] if withdrawal else None), f"payout:{payout_id}"
        if len(paid) > 1:
            problems.append(Problem(key, f"withdrawal {payout_id}: paid {len(paid)} times by the processor"))
        if paid and status is None:
            problems.append(
                Problem(key, f"payout {payout_id} ({_money(paid[0].net_minor, paid[0].currency)}) with no withdrawal")
            )
        elif paid and status == WITHDRAWAL_FAILED:
            problems.append(
                Problem(
                    key,
                    f"withdrawal {payout_id} failed (its {withdrawal['diamonds']} diamonds returned) but the processor "
                    f"paid {_money(paid[0].net_minor, paid[0].currency)}: paid twice",
                )
            )
        elif paid and status not in (WITHDRAWAL_PENDING, WITHDRAWAL_PROCESSING, WITHDRAWAL_COMPLETED):
            problems.append(
                Problem(
                    key,
                    f"withdrawal {payout_id} is {status} (its {withdrawal['diamonds']} diamonds not withdrawn) but "
                    f"the processor paid {_money(paid[0].net_minor, paid[0].currency)}",
                )
            )
        elif status == WITHDRAWAL_COMPLETED and not paid:
            found = payouts.get(payout_id)
            problems.append(
                Problem(
                    key,
                    f"withdrawal {payout_id} completed ({withdrawal['diamonds']} diamonds withdrawn) but the "
                    f"processor has {found[0].outcome if found else 'no payout'}",
                )
            )
        elif status == WITHDRAWAL_COMPLETED:
            asked = (withdrawal["net_minor"], withdrawal["currency"])
            if (paid[0].net_minor, paid[0].currency) != asked:
                problems.append(
                    Problem(
                        key,
                        f"withdrawal {payout_id}: the processor paid {_money(paid[0].net_minor, paid[0].currency)}, "
                        f"its net is {_money(*asked)}",
                    )
                )
        if status == WITHDRAWAL_COMPLETED:
            owed[withdrawal["currency"]] += withdrawal["net_minor"]
            for payout in paid:
                sent[payout.currency] += payout.net_minor
    items = list(problems)
    for currency in sorted(owed.keys() | sent.keys()):
        problems += _sum(
            f"payouts_sum:{currency}",
            sent[currency],
            owed[currency],
            f"{currency} paid by the payout processor for completed withdrawals != their net",
            because=items,
        )
    return problems


# --- the ledgers against each other and against the rules -----------------------------------


def diamonds_match_withdrawals(books: Books) -> list[Problem]:
    """Per creator: reserved diamonds = those of their withdrawals still in flight (any status but
    completed or failed), withdrawn diamonds = those of the completed ones, counted from the
    withdrawals read with the account; and in sum. A withdrawal whose creator has no account is named."""
    problems, held, expected = [], Counter(), Counter()
    for account in books.accounts:
        reserved = sum(w["diamonds"] for w in account["withdrawals"] if w["status"] not in _SETTLED_WITHDRAWAL)
        withdrawn = sum(w["diamonds"] for w in account["withdrawals"] if w["status"] == WITHDRAWAL_COMPLETED)
        creator = account["creator_id"]
        for what, holds, should in (
            ("reserved", account["reserved_diamonds"], reserved),
            ("withdrawn", account["withdrawn_diamonds"], withdrawn),
        ):
            held[what] += holds
            expected[what] += should
            if holds != should:
                problems.append(
                    Problem(
                        f"{what}:{creator}",
                        f"creator {creator}: {holds} diamonds {what}, their withdrawals say {should}",
                    )
                )
    with_account = {a["creator_id"] for a in books.accounts}
    for w in books.withdrawals:  # read before the accounts: a creator's account is made before any withdrawal
        if w["creator_id"] not in with_account:
            problems.append(
                Problem(
                    f"account:{w['withdrawal_id']}", f"withdrawal {w['withdrawal_id']}: no account {w['creator_id']}"
                )
            )
    for what in ("reserved", "withdrawn"):
        problems += _sum(
            f"{what}_sum", held[what], expected[what], f"diamonds {what} in all accounts != in their withdrawals"
        )
    return problems


def purchase_prices(books: Books) -> list[Problem]:
    """Every purchase's coins, amount and currency are its country's price list's (a package, or a
    custom amount at the dearest per-coin rate)."""
    problems = []
    for p in books.purchases:
        try:
            prices = price_list_for(p["country"])
            package = prices.custom(p["coins"]) if p["package_id"] == "custom" else prices.package(p["package_id"])
        except DomainError as exc:
            problems.append(Problem(f"price:{p['purchase_id']}", f"purchase {p['purchase_id']}: {exc}"))
            continue
        got = (p["coins"], p["amount_minor"], p["currency"])
        if got != (package.coins, package.amount_minor, package.currency):
            problems.append(
                Problem(
                    f"price:{p['purchase_id']}",
                    f"purchase {p['purchase_id']} ({p['country']}, {p['package_id']}): {got[0]} coins for "
                    f"{_money(got[1], got[2])}, the rules say {package.coins} for "
                    f"{_money(package.amount_minor, package.currency)}",
                )
            )
    return problems


def withdrawal_quotes(books: Books) -> list[Problem]:
    """Every withdrawal's diamonds, fee and net are the rules' quote for its gross and method
    (diamonds = gross * diamonds_per_usd / 100; fee = the method's bps rounded up + fixed;
    gross = net + fee), with the rules the payout service reports."""
    rules = payout_rules(books.withdrawal_rules)
    problems = []
    for w in books.withdrawals:
        key = f"quote:{w['withdrawal_id']}"
        try:
            quote = rules.quote(amount_minor=w["gross_minor"], method=w["payout_method"])
        except (DomainError, KeyError) as exc:
            problems.append(Problem(key, f"withdrawal {w['withdrawal_id']}: the rules refuse it: {exc}"))
            continue
        got = (w["diamonds"], w["fee_minor"], w["net_minor"])
        if got != (quote.diamonds, quote.fee_minor, quote.net_minor) or w["currency"] != "USD":
            problems.append(
                Problem(
                    key,
                    f"withdrawal {w['withdrawal_id']} ({w['payout_method']}, gross {w['gross_minor']}): "
                    f"diamonds/fee/net {got[0]}/{got[1]}/{got[2]} {w['currency']}, the rules say "
                    f"{quote.diamonds}/{quote.fee_minor}/{quote.net_minor} USD",
                )
            )
    return problems


def gift_diamonds(books: Books) -> list[Problem]:
    """Every gift's diamonds = its coins * diamonds_per_coin, its coins = each * quantity."""
    rules = GiftingRules(diamonds_per_coin=int(books.gift_rules["diamonds_per_coin"]))
    problems = []
    for g in books.gifts:
        expected = rules.diamonds_for(g["total_coins"])
        if g["diamonds"] != expected or g["total_coins"] != g["coins_each"] * g["quantity"]:
            problems.append(
                Problem(
                    f"gift:{g['gift_tx_id']}",
                    f"gift {g['gift_tx_id']}: {g['quantity']} x {g['coins_each']} coins = {g['total_coins']}, "
                    f"{g['diamonds']} diamonds; the rules say {rules.diamonds_for(g['coins_each'] * g['quantity'])}",
                )
            )
    return problems


def gifts_credited(books: Books) -> list[Problem]:
    """Every gift is credited to its creator once, with its diamonds, and every credit has its gift
    (a gift not credited yet while gift.sent.v1 lags is named here too: that flow's dead letter)."""
    gifts = {g["gift_tx_id"]: g for g in books.gifts}
    credits = {e["gift_tx_id"]: e for e in books.earnings}
    problems = []
    for gift_tx_id in sorted(gifts.keys() | credits.keys()):
        gift, credit = gifts.get(gift_tx_id), credits.get(gift_tx_id)
        key = f"earning:{gift_tx_id}"
        if credit is None:
            problems.append(
                Problem(key, f"gift {gift_tx_id}: {gift['diamonds']} diamonds never credited to {gift['creator_id']}")
            )
        elif gift is None:
            problems.append(
                Problem(key, f"{credit['creator_id']} credited {credit['diamonds']} diamonds for no gift {gift_tx_id}")
            )
        elif (credit["creator_id"], credit["diamonds"]) != (gift["creator_id"], gift["diamonds"]):
            problems.append(
                Problem(
                    key,
                    f"gift {gift_tx_id}: {gift['diamonds']} diamonds owed to {gift['creator_id']}, "
                    f"{credit['diamonds']} credited to {credit['creator_id']}",
                )
            )
    return problems


def purchases_credited(books: Books) -> list[Problem]:
    """Every paid purchase's coins are credited once to its buyer, every chargeback that reversed
    one is clawed back once from them, and every credit and clawback has its purchase (a purchase
    not credited yet while purchase.completed.v1 lags is named here too: that flow's dead letter)."""
    credits_due = {
        p["purchase_id"]: (p["user_id"], p["coins"], p) for p in books.purchases if p["status"] in PAID_PURCHASE
    }
    clawbacks_due = {
        p["chargeback_id"]: (p["user_id"], p["chargeback_coins"], p)
        for p in books.purchases
        if p.get("chargeback_status") == CHARGEBACK_REVERSED
    }
    return _entries("credit", "credited to", credits_due, books.credits) + _entries(
        "clawback", "clawed back from", clawbacks_due, books.clawbacks
    )


def _entries(kind: str, verb: str, due: dict, entries: list[dict]) -> list[Problem]:
    """Each entry owed (reference -> user, coins, purchase) against those gifting holds."""
    found = {e["reference"]: e for e in entries}
    problems = []
    for reference in sorted(due.keys() | found.keys()):
        owed, entry = due.get(reference), found.get(reference)
        key = f"{kind}:{reference}"
        if entry is None:
            user, coins, purchase = owed
            text = f"purchase {purchase['purchase_id']} ({purchase['status']}): {coins} coins never {verb} {user}"
            problems.append(Problem(key, text))
        elif owed is None:
            problems.append(
                Problem(key, f"{entry['coins']} coins {verb} {entry['user_id']} for {reference}: no such {kind} due")
            )
        elif (entry["user_id"], entry["coins"]) != owed[:2]:
            problems.append(
                Problem(
                    key,
                    f"{reference}: {owed[1]} coins owed {verb} {owed[0]}, {entry['coins']} {verb} {entry['user_id']}",
                )
            )
    return problems


def payout_rules(reported: dict) -> PayoutRules:
    return PayoutRules(
        min_withdrawal_minor=int(reported["min_withdrawal_minor"]),
        diamonds_per_usd=int(reported["diamonds_per_usd"]),
        fees={m: Fee(int(f["basis_points"]), int(f["fixed_minor"])) for m, f in reported["fees"].items()},
    )


def _money(amount_minor: int, currency: str) -> str:
    return f"{amount_minor} {currency}"


_TOTALS = ("totals.purchase", "totals.gifting", "totals.payout")
CHECKS: tuple[Check, ...] = (
    Check("every event written is applied", _TOTALS, events_applied),
    Check("coins credited = coins bought", ("totals.purchase", "totals.gifting"), coins_credited),
    Check("coins clawed back = coins reversed", ("totals.purchase", "totals.gifting"), coins_clawed_back),
    Check("bought - reversed = in wallets + spent", ("totals.purchase", "totals.gifting"), coins_conserved),
    Check("diamonds owed for gifts = credited", ("totals.gifting", "totals.payout"), diamonds_credited),
    Check("wallet balances = their ledgers", ("totals.gifting",), wallets_match_ledgers),
    Check("creator diamonds = their earnings", ("totals.payout",), accounts_match_earnings),
    Check("purchases settled within the bound", ("totals.purchase",), purchases_in_time),
    Check("withdrawals settled within the bound", ("totals.payout",), withdrawals_in_time),
    Check("card processor charges = purchases", ("purchases", "charges"), charges_match_purchases),
    Check("processor chargebacks = reversals", ("purchases", "chargebacks"), chargebacks_recorded),
    Check("processor payouts = withdrawals", ("withdrawals", "payouts"), payouts_match_withdrawals),
    Check("reserved/withdrawn diamonds = withdrawals", ("withdrawals", "accounts"), diamonds_match_withdrawals),
    Check("purchase prices = the price lists", ("purchases",), purchase_prices),
    Check("withdrawal diamonds, fees, net = the rules", ("withdrawals", "withdrawal_rules"), withdrawal_quotes),
    Check("gift diamonds = coins x diamonds_per_coin", ("gifts", "gift_rules"), gift_diamonds),
    Check("every gift credited once to its creator", ("gifts", "earnings"), gifts_credited),
    Check(
        "every purchase credited once, every chargeback clawed back",
        ("purchases", "credits", "clawbacks"),
        purchases_credited,
    ),
)
