"""Gifting's request and response schemas."""

from marshmallow import Schema, fields, validate

from services.gifting.domain.catalog import CATALOG, MAX_COMBO
from shared.fields import Pattern, StrictInteger, identifier
from shared.http.audit import EventCountsSchema


class SendGiftRequest(Schema):
    sender_id = identifier(required=True)
    creator_id = identifier(required=True)
    gift_id = fields.String(required=True, validate=validate.OneOf(sorted(CATALOG)))
    quantity = StrictInteger(load_default=1, validate=validate.Range(min=1, max=MAX_COMBO))
    stream_id = identifier(load_default=None, allow_none=True)


class WalletSchema(Schema):
    user_id = fields.String()
    balance = fields.Integer(metadata={"description": "Coins; negative only after a chargeback"})
    status = fields.String(metadata={"enum": ["active", "frozen"]})


class GiftTransactionSchema(Schema):
    gift_tx_id = fields.String()
    sender_id = fields.String()
    creator_id = fields.String()
    gift_id = fields.String()
    quantity = fields.Integer()
    coins_each = fields.Integer()
    coins = fields.Integer(attribute="total_coins")
    diamonds = fields.Integer()
    stream_id = fields.String(allow_none=True)
    sent_at = fields.DateTime()
    balance_after = fields.Integer()


class GiftCatalogItemSchema(Schema):
    gift_id = fields.String()
    name = fields.String()
    coins = fields.Integer()


class CatalogSchema(Schema):
    gifts = fields.List(fields.Nested(GiftCatalogItemSchema))


class LedgerEntrySchema(Schema):
    entry_id = fields.Integer()
    kind = fields.String(metadata={"enum": ["purchase", "gift", "chargeback"]})
    delta_coins = fields.Integer()
    balance_after = fields.Integer()
    reference = fields.String()
    created_at = fields.DateTime()


class LedgerPageSchema(Schema):
    user_id = fields.String()
    transactions = fields.List(fields.Nested(LedgerEntrySchema))
    next_cursor = fields.String(allow_none=True)


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=Pattern(r"^[0-9]{1,18}$"))


class LeaderboardQuery(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class LeaderboardEntrySchema(Schema):
    rank = fields.Integer()
    sender_id = fields.String()
    coins = fields.Integer()
    gifts = fields.Integer()


class LeaderboardSchema(Schema):
    stream_id = fields.String()
    leaderboard = fields.List(fields.Nested(LeaderboardEntrySchema))


class GiftingTotalsSchema(EventCountsSchema):
    coins_credited = fields.Integer()
    coins_clawed_back = fields.Integer()
    coins_in_wallets = fields.Integer()
    coins_spent_on_gifts = fields.Integer()
    diamonds_owed = fields.Integer()
    wallets_below_zero = fields.Integer()
    wallets_ledger_mismatch = fields.List(fields.String())


class GiftRulesSchema(Schema):
    diamonds_per_coin = fields.Integer()


class InternalGiftSchema(Schema):
    gift_tx_id = fields.String()
    creator_id = fields.String()
    gift_id = fields.String()
    quantity = fields.Integer()
    coins_each = fields.Integer()
    total_coins = fields.Integer()
    diamonds = fields.Integer()


class InternalGiftPageSchema(Schema):
    gifts = fields.List(fields.Nested(InternalGiftSchema))
    rules = fields.Nested(GiftRulesSchema)
    next_cursor = fields.String(allow_none=True, metadata={"description": "None after the last page"})
