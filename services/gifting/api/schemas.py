"""Gifting's request and response schemas."""

from marshmallow import Schema, fields, validate

from services.gifting.domain.model import CATALOG, MAX_COMBO
from shared.fields import KEY_PATTERN, KEY_RULE, Pattern, StrictInteger, identifier
from shared.http.audit import AuditPageQuery, EventCountsSchema


class SendGiftRequest(Schema):
    sender_id = identifier(required=True, metadata={"example": "ann"})
    creator_id = identifier(required=True, metadata={"example": "cat"})
    gift_id = fields.String(required=True, validate=validate.OneOf(sorted(CATALOG)), metadata={"example": "rose"})
    quantity = StrictInteger(
        load_default=1, validate=validate.Range(min=1, max=MAX_COMBO), metadata={"example": 5, "description": "A combo"}
    )
    stream_id = identifier(load_default=None, allow_none=True, metadata={"example": "stream-42"})


class WalletSchema(Schema):
    user_id = fields.String(metadata={"example": "ann"})
    balance = fields.Integer(metadata={"description": "Coins; negative only after a chargeback", "example": 65})
    status = fields.String(metadata={"enum": ["active", "frozen"], "example": "active"})


class GiftTransactionSchema(Schema):
    gift_tx_id = fields.String(metadata={"example": "01938a71-0c1d-7e2f-9a3b-4c5d6e7f8a9b"})
    sender_id = fields.String(metadata={"example": "ann"})
    creator_id = fields.String(metadata={"example": "cat"})
    gift_id = fields.String(metadata={"example": "rose"})
    quantity = fields.Integer(metadata={"example": 5})
    coins_each = fields.Integer(metadata={"example": 1})
    coins = fields.Integer(attribute="total_coins", metadata={"example": 5})
    diamonds = fields.Integer(metadata={"example": 5})
    stream_id = fields.String(allow_none=True, metadata={"example": "stream-42"})
    sent_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})
    balance_after = fields.Integer(metadata={"example": 65})


class GiftCatalogItemSchema(Schema):
    gift_id = fields.String(metadata={"example": "rose"})
    name = fields.String(metadata={"example": "Rose"})
    coins = fields.Integer(metadata={"example": 1})


class CatalogSchema(Schema):
    gifts = fields.List(fields.Nested(GiftCatalogItemSchema))


class LedgerEntrySchema(Schema):
    entry_id = fields.Integer(metadata={"example": 12})
    kind = fields.String(metadata={"enum": ["purchase", "gift", "chargeback"], "example": "gift"})
    delta_coins = fields.Integer(metadata={"example": -5})
    balance_after = fields.Integer(metadata={"example": 65})
    reference = fields.String(metadata={"example": "01938a71-0c1d-7e2f-9a3b-4c5d6e7f8a9b"})
    created_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})


class LedgerPageSchema(Schema):
    user_id = fields.String(metadata={"example": "ann"})
    transactions = fields.List(fields.Nested(LedgerEntrySchema))
    next_cursor = fields.String(allow_none=True)


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=Pattern(r"^[0-9]{1,18}$"))


class LeaderboardQuery(Schema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class LeaderboardEntrySchema(Schema):
    rank = fields.Integer(metadata={"example": 1})
    sender_id = fields.String(metadata={"example": "ann"})
    coins = fields.Integer(metadata={"example": 120})
    gifts = fields.Integer(metadata={"example": 7})


class LeaderboardSchema(Schema):
    stream_id = fields.String(metadata={"example": "stream-42"})
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


class CoinEntriesQuery(AuditPageQuery):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["purchase", "chargeback"]),
        metadata={"description": "purchase: coins credited for purchases; chargeback: coins clawed back"},
    )


class InternalCoinEntrySchema(Schema):
    reference = fields.String(metadata={"description": "the purchase id (a credit) or the chargeback id (a clawback)"})
    user_id = fields.String()
    coins = fields.Integer()


class InternalCoinEntryPageSchema(Schema):
    entries = fields.List(fields.Nested(InternalCoinEntrySchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "None after the last page"})


MAX_BATCH = 1_000
MAX_GRANT_CHARS = 8_192  # a header's worth


class GiftBatchItem(SendGiftRequest):
    """One gift of a batch: the single gift's fields, its own Idempotency-Key, and (for a caller
    acting for its users with grants, like `live`) the sender's user grant."""

    idempotency_key = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=255),
            validate.Regexp(KEY_PATTERN, error=KEY_RULE),
        ],
        metadata={"example": "tap-7f3a9c", "description": "As the Idempotency-Key header of POST /v1/gifts"},
    )
    grant = fields.String(  # documented here; the view reads it as the header is read (`_item_grant`)
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=MAX_GRANT_CHARS),
        metadata={"description": "The sender's user grant, as the X-User-Grant header of POST /v1/gifts"},
    )


class GiftBatchRequest(Schema):
    """What the route documents; each item is read on its own (`GiftBatchEnvelope`), so that a bad
    item is that item's outcome, not the batch's refusal."""

    gifts = fields.List(fields.Nested(GiftBatchItem), required=True, validate=validate.Length(min=1, max=MAX_BATCH))


class GiftBatchEnvelope(Schema):
    # Any item, null too: a bad item is that item's outcome (views.py `_batch_item`), not the batch's.
    gifts = fields.List(fields.Raw(allow_none=True), required=True, validate=validate.Length(min=1, max=MAX_BATCH))


class ItemProblemSchema(Schema):
    """An item's problem: the problem+json body it would have got alone (see Problem)."""

    type = fields.String(metadata={"example": "https://coins.example/problems/insufficient-coins"})
    title = fields.String(metadata={"example": "Not enough coins"})
    status = fields.Integer(metadata={"example": 409})
    detail = fields.String(metadata={"example": "The gift costs 6 coins; the wallet holds 4."})
    instance = fields.String(metadata={"example": "/v1/gifts"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class GiftBatchResultSchema(Schema):
    index = fields.Integer(metadata={"example": 0})
    idempotency_key = fields.String(allow_none=True, metadata={"example": "tap-7f3a9c"})
    status = fields.Integer(metadata={"description": "The status the gift would have got alone", "example": 201})
    outcome = fields.String(
        metadata={
            "enum": [
                "created",
                "replayed",
                "insufficient-coins",
                "frozen",
                "invalid",
                "grant-refused",
                "key-reused",
                "in-flight",
            ],
            "example": "created",
        }
    )
    gift = fields.Nested(
        GiftTransactionSchema, metadata={"description": "Created or replayed: the gift as POST /v1/gifts answers it"}
    )
    problem = fields.Nested(
        ItemProblemSchema, metadata={"description": "Refused: the problem+json body it would have got alone"}
    )


class GiftBatchResponse(Schema):
    results = fields.List(fields.Nested(GiftBatchResultSchema), metadata={"description": "In request order"})
