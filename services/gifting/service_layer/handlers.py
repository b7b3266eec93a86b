"""Gifting's use cases: each takes what is asked and, keyword-only, a unit of work and its
dependencies, and never commits: its entry point owns the transaction (shared.messaging.uow)."""

from __future__ import annotations

import dataclasses

from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase, SendGift
from services.gifting.domain.errors import GiftNotFound
from services.gifting.domain.model import GiftTransaction, LedgerEntry, Wallet, find_gift, price_gift
from services.gifting.domain.rules import GiftingRules
from services.gifting.service_layer.unit_of_work import AbstractUnitOfWork
from shared.auth.onbehalf import UserGrant, replayed
from shared.clock import utcnow
from shared.contracts import GIFT_SENT
from shared.db.engines import StaleRead
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
class GiftBatch:
    """Many gifts in one unit of work, each sent as if it were sent alone and in order. Opened on
    the gifts it may send (their senders' wallets locked, their grants' spends read), `send` takes
    each as `send_gift` would, on the wallets as the gifts before it left them (so several gifts
    from one sender never overdraw), and `write` writes them all at once (adapters/gift_batch.py:
    a handful of set-wise statements). Its entry point owns the transaction and each gift's
    Idempotency-Key (shared.idempotency.http `answer_items`)."""

    def __init__(self, gifts: list[tuple[SendGift, UserGrant | None]], *, uow: AbstractUnitOfWork, rules: GiftingRules):
        self._uow, self._rules = uow, rules
        self._wallets = uow.gift_batches.wallets_for_update(cmd.sender_id for cmd, _ in gifts)
        self._spent = uow.gift_batches.spent_grants((g.issuer, g.jti) for _, g in gifts if g is not None)
        self._made: list[tuple[dict, UserGrant | None]] = []

    def send(self, cmd: SendGift, grant: UserGrant | None = None) -> GiftTransaction:
        """The gift, or its refusal raised (the wallet's, the grant's, the domain's): nothing changes."""
        gift = _priced_gift(cmd, self._rules)
        if grant is not None:
            grant.allows_at_most("max_coins", gift["total_coins"])
            grant.allows_party("creator_id", cmd.creator_id)
        wallet = dataclasses.replace(self._wallets.get(cmd.sender_id) or Wallet(user_id=cmd.sender_id))
        wallet.spend(gift["total_coins"])
        if grant is not None and (grant.issuer, grant.jti) in self._spent:
            raise replayed()
        self._wallets[wallet.user_id] = wallet
        if grant is not None:
            self._spent.add((grant.issuer, grant.jti))
        self._made.append(({**gift, "balance_after": wallet.balance}, grant))
        return GiftTransaction(**gift, balance_after=wallet.balance)

    def write(self) -> None:
        """Each gift sent with its ledger entry, outbox event and spent grant; the wallets debited."""
        events = self._uow.outbox.event_rows(GIFT_SENT, [_gift_sent(gift) for gift, _ in self._made])
        made = [(gift, event, grant) for (gift, grant), event in zip(self._made, events, strict=True)]
        debited = {gift["sender_id"] for gift, _ in self._made}  # the adapter writes them in user_id order
        self._uow.gift_batches.record(made, wallets_after=[self._wallets[user] for user in debited])


def gifts_by_id(gift_tx_ids: list[str], *, uow: AbstractUnitOfWork) -> dict[str, GiftTransaction]:
    """Gifts made already (a batch's replays), by id, in one read."""
    return uow.gift_batches.gifts(gift_tx_ids)
