"""Gifting's use cases: each takes what is asked and, keyword-only, a unit of work and its
dependencies, and never commits: its entry point owns the transaction (shared.messaging.uow)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase, SendGift
from services.gifting.domain.errors import GiftNotFound
from services.gifting.domain.model import GiftTransaction, LedgerEntry, Wallet, find_gift, price_gift
from services.gifting.domain.rules import GiftingRules
from services.gifting.service_layer.unit_of_work import AbstractUnitOfWork
from shared.auth.onbehalf import GRANT_REFUSALS, UserGrant, replayed
from shared.clock import utcnow
from shared.contracts import GIFT_SENT
from shared.db.engines import StaleRead
from shared.errors import DomainError, Problem
from shared.idempotency import DONE, OPEN, KeyedRequest, judge, keeps
from shared.ids import new_id


def send_gift(
    cmd: SendGift, *, uow: AbstractUnitOfWork, rules: GiftingRules, grant: UserGrant | None = None
) -> GiftTransaction:
    """Debit the sender and record the gift and its event, or refuse it with the reason. A user
    grant (shared.auth.onbehalf) must cover the gift (`max_coins`, and its `creator_id` if it names
    one), and is spent with it."""
    gift = _priced_gift(cmd, rules)
    if grant is not None:
        grant.allows_at_most("max_coins", gift["total_coins"])
        grant.allows_party("creator_id", cmd.creator_id)
    event = uow.outbox.row(GIFT_SENT, _gift_sent(gift))
    wallet = uow.gifts.send(gift, coins=gift["total_coins"], event=event, grant=grant)
    if wallet is None:
        _refuse(cmd.sender_id, gift["total_coins"], uow=uow)
    return GiftTransaction(**gift, balance_after=wallet.balance)


def _priced_gift(cmd: SendGift, rules: GiftingRules) -> dict:
    """The gift's fields but the balance after it: priced, and its diamonds counted, by the domain."""
    gift = find_gift(cmd.gift_id)
    cost = price_gift(gift=gift, quantity=cmd.quantity, sender_id=cmd.sender_id, creator_id=cmd.creator_id)
    return {
        "gift_tx_id": new_id(),
        "sender_id": cmd.sender_id,
        "creator_id": cmd.creator_id,
        "gift_id": gift.gift_id,
        "quantity": cmd.quantity,
        "coins_each": gift.coins,
        "total_coins": cost,
        "diamonds": rules.diamonds_for(cost),
        "stream_id": cmd.stream_id,
        "sent_at": utcnow(),
    }


def _gift_sent(gift: dict) -> dict:
    """The `gift.sent` event's data (shared.contracts): what payout credits the creator with."""
    return {
        "gift_tx_id": gift["gift_tx_id"],
        "sender_id": gift["sender_id"],
        "creator_id": gift["creator_id"],
        "gift_id": gift["gift_id"],
        "quantity": gift["quantity"],
        "coins": gift["total_coins"],
        "diamonds": gift["diamonds"],
        "stream_id": gift["stream_id"],
        "sent_at": gift["sent_at"],
    }


def _refuse(sender_id: str, coins: int, *, uow: AbstractUnitOfWork) -> None:
    """The debit took nothing: raise the wallet rule that refused it (frozen, or not enough coins)."""
    refused = uow.wallets.get(sender_id) or Wallet(user_id=sender_id)
    refused.spend(coins)
    raise StaleRead(f"wallet {sender_id} changed between its debit and its read")


def credit_purchase(cmd: CreditPurchase, *, uow: AbstractUnitOfWork) -> Wallet:
    wallet = uow.wallets.get_or_create_for_update(cmd.user_id)
    wallet.credit(cmd.coins)
    uow.wallets.save(wallet)
    uow.ledger.record(wallet=wallet, kind="purchase", delta_coins=cmd.coins, reference=cmd.purchase_id)
    return wallet


def claw_back_purchase(cmd: ClawBackPurchase, *, uow: AbstractUnitOfWork) -> Wallet:
    wallet = uow.wallets.get_or_create_for_update(cmd.user_id)
    wallet.claw_back(cmd.coins)
    uow.wallets.save(wallet)
    uow.ledger.record(wallet=wallet, kind="chargeback", delta_coins=-cmd.coins, reference=cmd.chargeback_id)
    return wallet


def wallet_of(user_id: str, *, uow: AbstractUnitOfWork) -> Wallet:
    """A user with no purchases has an empty, active wallet."""
    return uow.wallets.get(user_id) or Wallet(user_id=user_id)


def ledger_of(user_id: str, *, uow: AbstractUnitOfWork, limit: int, before_id: int | None) -> list[LedgerEntry]:
    """A wallet's ledger entries, newest first, older than `before_id` if given."""
    return uow.ledger.page(user_id, limit=limit, before_id=before_id)


def leaderboard(stream_id: str, *, uow: AbstractUnitOfWork, limit: int) -> list[tuple[str, int, int]]:
    """(sender_id, coins, gifts) of a stream's top gifters, most coins first."""
    return uow.gifts.leaderboard(stream_id, limit=limit)


def get_gift(gift_tx_id: str, *, uow: AbstractUnitOfWork) -> GiftTransaction:
    gift = uow.gifts.get(gift_tx_id)
    if gift is None:
        raise GiftNotFound(f"There is no gift {gift_tx_id}.")
    return gift


# -- a batch of gifts -------------------------------------------------------------------------------
# Each item is the single gift (`POST /v1/gifts`) with its own Idempotency-Key, in the key space of
# that route: its fingerprint is the single gift's (caller, POST /v1/gifts, the item's gift fields),
# so the same gift replays whichever route it came by, and every key keeps what the single route's
# key would keep (shared.idempotency `keeps`).
GIFTS_PATH = "/v1/gifts"


@dataclass(frozen=True)
class BatchItem:
    """One item as the view read it: its keyed request (None if its key was unusable), and either
    the gift asked for with the grant that pays for it, or the refusal it met before any state was
    read (invalid fields, a grant refused)."""

    request: KeyedRequest | None
    gift: SendGift | None = None
    grant: UserGrant | None = None
    refused: Problem | None = None


@dataclass(frozen=True)
class BatchOutcome:
    """What an item would have got alone: its status, and the gift (created or replayed: a
    GiftTransaction, or the body the single route stored; inside the handler, the id of a gift
    made before until it is read) or its problem+json body and code; `replayed`: a refusal its key
    kept, answered again (not a new refusal)."""

    status: int
    outcome: str
    gift: GiftTransaction | dict | str | None = None
    problem: dict | None = None
    code: str | None = None
    replayed: bool = False


@dataclass(frozen=True)
class SettledKey:
    """A key's row after the batch, in what shared.idempotency `judge` reads."""

    request: KeyedRequest
    state: str
    status: int | None = None
    body: str | None = None
    resource_id: str | None = None
    lease_until: object = None

    @property
    def request_hash(self) -> str:
        return self.request.fingerprint

    @property
    def response_status(self):
        return self.status

    @property
    def response_body(self):
        return self.body


def send_gift_batch(items: list[BatchItem], *, uow: AbstractUnitOfWork, rules: GiftingRules) -> list[BatchOutcome]:
    """Each item as if it were sent alone, in order: replayed by its key, or refused, or sent
    (coins from its sender's wallet as the items before it left it, so a batch never overdraws).
    Reads and locks first, decides in Python, writes once (adapters/gift_batch.py)."""
    batch = uow.gift_batches
    keys = dict(batch.claim_keys([item.request for item in items if item.request is not None]))
    wallets = batch.wallets_for_update(item.gift.sender_id for item in items if item.gift is not None)
    spent = batch.spent_grants((item.grant.issuer, item.grant.jti) for item in items if item.grant is not None)
    made: list[tuple[dict, UserGrant | None]] = []
    settled: dict[str, SettledKey] = {}
    debited: set[str] = set()
    outcomes = []
    for item in items:
        outcome = _judged(item, keys)
        if outcome is None:
            outcome = _decided(item, wallets=wallets, spent=spent, made=made, debited=debited, uow=uow, rules=rules)
            settled[item.request.key] = keys[item.request.key] = _settled(item.request, outcome)
        outcomes.append(outcome)
    events = uow.outbox.event_rows(GIFT_SENT, [_gift_sent(gift) for gift, _ in made])
    made_with_events = [(gift, event, grant) for (gift, grant), event in zip(made, events, strict=True)]
    batch.record(made_with_events, wallets_after=[wallets[user] for user in debited], keys=list(settled.values()))
    return _with_replayed_gifts(outcomes, batch)


def _judged(item: BatchItem, keys: dict) -> BatchOutcome | None:
    """The item's answer by its key alone (no key, reused, in flight, replayed), or None: decide it."""
    if item.request is None:
        return _refusal(item.refused)
    row = keys.get(item.request.key)
    if row is None:
        return None
    try:
        stored = judge(row, item.request)
    except Problem as exc:
        return _refusal(exc)
    if stored is None:
        return None
    if stored.body is None:  # a gift made: rendered from its id once the batch is read
        return BatchOutcome(stored.status, "replayed", gift=stored.resource_id)
    body = json.loads(stored.body)
    if stored.status < 400:
        return BatchOutcome(stored.status, "replayed", gift=body)
    code = body.get("type", "").rsplit("/", 1)[-1]
    return BatchOutcome(stored.status, _outcome_of(code, stored.status), problem=body, code=code, replayed=True)


def _decided(item: BatchItem, *, wallets, spent, made, debited, uow, rules) -> BatchOutcome:
    """The single gift's rules, on the wallets as the items before this one left them."""
    try:
        if item.refused is not None:
            raise item.refused
        gift = _priced_gift(item.gift, rules)
        grant = item.grant
        if grant is not None:
            grant.allows_at_most("max_coins", gift["total_coins"])
            grant.allows_party("creator_id", item.gift.creator_id)
        wallet = dataclasses.replace(wallets.get(gift["sender_id"]) or Wallet(user_id=gift["sender_id"]))
        wallet.spend(gift["total_coins"])
        if grant is not None and (grant.issuer, grant.jti) in spent:
            raise replayed()
    except (Problem, DomainError) as exc:
        return _refusal(exc)
    wallets[wallet.user_id] = wallet
    debited.add(wallet.user_id)
    if grant is not None:
        spent.add((grant.issuer, grant.jti))
    made.append(({**gift, "balance_after": wallet.balance}, grant))
    return BatchOutcome(201, "created", gift=GiftTransaction(**gift, balance_after=wallet.balance))


def _refusal(exc: Problem | DomainError) -> BatchOutcome:
    problem = exc if isinstance(exc, Problem) else Problem.from_domain(exc)
    outcome = _outcome_of(problem.code, problem.status)
    return BatchOutcome(problem.status, outcome, problem=problem.to_dict(GIFTS_PATH), code=problem.code)


def _settled(request: KeyedRequest, outcome: BatchOutcome) -> SettledKey:
    """The key's row after its item: done with the gift or a kept refusal, else open for this
    request only (a refusal by a state that moves on is answered afresh, as on the single route)."""
    if outcome.outcome == "created":
        return SettledKey(request, DONE, status=outcome.status, resource_id=outcome.gift.gift_tx_id)
    if keeps(outcome.status, outcome.code):
        return SettledKey(request, DONE, status=outcome.status, body=json.dumps(outcome.problem))
    return SettledKey(request, OPEN)


_OUTCOMES = {
    "insufficient-coins": "insufficient-coins",
    "wallet-frozen": "frozen",
    "idempotency-key-reused": "key-reused",
    "idempotency-key-in-flight": "in-flight",
}


def _outcome_of(code: str | None, status: int) -> str:
    """An item's outcome, named by its refusal's problem code."""
    if code in _OUTCOMES:
        return _OUTCOMES[code]
    if code in GRANT_REFUSALS:
        return "grant-refused"
    return "invalid" if status in (400, 422) else code or str(status)


def _with_replayed_gifts(outcomes: list[BatchOutcome], batch) -> list[BatchOutcome]:
    """Replays of gifts stored by id, rendered from their rows (one read for the batch)."""
    ids = [o.gift for o in outcomes if isinstance(o.gift, str)]
    if not ids:
        return outcomes
    found = batch.gifts(ids)
    return [dataclasses.replace(o, gift=found[o.gift]) if isinstance(o.gift, str) else o for o in outcomes]
