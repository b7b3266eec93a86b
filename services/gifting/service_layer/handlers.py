"""Gifting's use cases: each takes what is asked and, keyword-only, a unit of work and its
dependencies, and never commits: its entry point owns the transaction (shared.messaging.uow)."""

from __future__ import annotations

from services.gifting.domain.catalog import find_gift
from services.gifting.domain.commands import ClawBackPurchase, CreditPurchase, SendGift
from services.gifting.domain.errors import GiftNotFound
from services.gifting.domain.model import GiftTransaction, LedgerEntry, Wallet, price_gift
from services.gifting.domain.rules import GiftingRules
from services.gifting.service_layer.unit_of_work import AbstractUnitOfWork
from shared.auth.onbehalf import UserGrant
from shared.clock import utcnow
from shared.contracts import GIFT_SENT
from shared.db.errors import StaleRead
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
