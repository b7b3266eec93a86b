"""In-memory stand-ins of the card and payout processors for the in-process tests (the e2e and
fault suites run the real sandbox processes). Same scripts as the sandboxes, by token or
account; `charges`/`payouts` record what was taken, `calls` how often each id was sent."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter

from services.payout.adapters.processor import FAILED, PAID, PayoutResult
from services.payout.adapters.processor import UNKNOWN as PAYOUT_UNKNOWN
from services.purchase.adapters.processor import APPROVED, DECLINED, UNKNOWN, ChargeResult


class FakeCardProcessor:
    """tok_visa/tok_mastercard approved, tok_error unknown (nothing taken), tok_raise raises
    (a bug in an adapter), tok_timeout takes the money and answers unknown, tok_one_cent charges
    (and reports) 1 minor unit whatever was asked; else declined. Answers report what was
    charged. `down`: every call's answer is unknown, nothing taken (an outage)."""

    def __init__(self):
        self.charges: dict[str, ChargeResult] = {}
        self.calls: Counter = Counter()
        self.sent_by: dict = {}  # payment id -> the send_by of its last charge
        self.lookups: Counter = Counter()
        self.down = False
        self.lock = threading.Lock()

    def charge(
        self, *, payment_id: str, amount_minor: int, currency: str, method: str, token: str, send_by=None
    ) -> ChargeResult:
        with self.lock:
            self.calls[payment_id] += 1
            self.sent_by[payment_id] = send_by
            if token == "tok_raise":
                raise RuntimeError("the adapter failed")
            if token == "tok_error" or self.down:
                return ChargeResult(UNKNOWN)
            if payment_id not in self.charges:
                told = {
                    "payment_id": payment_id,
                    "amount_minor": 1 if token == "tok_one_cent" else amount_minor,
                    "currency": currency,
                }
                self.charges[payment_id] = (
                    ChargeResult(APPROVED, reference=f"ch_{payment_id[:8]}", **told)
                    if token in ("tok_visa", "tok_mastercard", "tok_timeout", "tok_one_cent")
                    else ChargeResult(DECLINED, decline_code="card_declined", **told)
                )
            return ChargeResult(UNKNOWN) if token == "tok_timeout" else self.charges[payment_id]

    def lookup(self, *, payment_id: str) -> ChargeResult | None:
        with self.lock:
            self.lookups[payment_id] += 1
            return ChargeResult(UNKNOWN) if self.down else self.charges.get(payment_id)


class FakePayoutProcessor:
    """Accounts starting with fail are refused, with error unknown every time; else paid. Its
    answers report the id, amount and currency, as the sandbox's do."""

    def __init__(self):
        self.payouts: dict[str, PayoutResult] = {}
        self.calls: Counter = Counter()
        self.sent_by: dict = {}  # payout id -> the send_by of its last send
        self.lock = threading.Lock()

    def send(
        self, *, payout_id: str, net_minor: int, currency: str, method: str, account: str, send_by=None
    ) -> PayoutResult:
        with self.lock:
            self.calls[payout_id] += 1
            self.sent_by[payout_id] = send_by
            if account.lower().startswith("error"):
                return PayoutResult(PAYOUT_UNKNOWN)
            if payout_id not in self.payouts:
                asked = {"payout_id": payout_id, "net_minor": net_minor, "currency": currency}
                self.payouts[payout_id] = (
                    PayoutResult(FAILED, failure_reason="account_rejected", **asked)
                    if account.lower().startswith("fail")
                    else PayoutResult(PAID, reference=f"po_{payout_id[:8]}", **asked)
                )
            return self.payouts[payout_id]

    def lookup(self, *, payout_id: str) -> PayoutResult | None:
        return self.payouts.get(payout_id)


def tries_writing_when_asked(processor, database: str) -> list[str]:
    """Make `processor.lookup` first try to take the write lock of the SQLite file `database` (for
    0.2 s), as the service's requests and workers would meanwhile; each try is recorded, "free" or
    the error. An operator's command asking the processor must hold no transaction then."""
    tries, ask = [], processor.lookup

    def lookup(**asked):
        conn = sqlite3.connect(database, timeout=0.2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            tries.append("free")
        except sqlite3.OperationalError as exc:
            tries.append(str(exc))
        finally:
            conn.close()
        return ask(**asked)

    processor.lookup = lookup
    return tries
