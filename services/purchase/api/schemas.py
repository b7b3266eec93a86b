"""The purchase service's request and response schemas."""

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.purchase.domain.pricing import CUSTOM_MAX_COINS, CUSTOM_MIN_COINS, PRICE_LISTS
from shared.fields import MoneySchema, Pattern, StrictInteger, identifier, text
from shared.http.audit import EventCountsSchema
from shared.settings import DEFAULT_BLOCKED_COUNTRIES

# The countries with a price list, and those refused as not served (403), in either case: the
# document's pattern says so, so a client generated from it cannot send a country refused as invalid.
_COUNTRIES = sorted(set(PRICE_LISTS) | set(DEFAULT_BLOCKED_COUNTRIES.split(",")))
COUNTRY = Pattern(
    "^(" + "|".join(f"[{a}{a.lower()}][{b}{b.lower()}]" for a, b in _COUNTRIES) + ")$",
    error="Must be the ISO 3166-1 alpha-2 code of a country with a price list.",
)


class CountryQuery(Schema):
    country = fields.String(required=True, validate=COUNTRY, metadata={"example": "US"})

    @post_load
    def _upper(self, data, **_):
        return {**data, "country": data["country"].upper()}


class PaymentSchema(Schema):
    method = fields.String(
        required=True,
        validate=validate.OneOf(["card", "apple_pay", "google_pay", "paypal"]),
        metadata={"example": "card"},
    )
    token = text(
        max_length=200, required=True, metadata={"example": "tok_visa", "description": "The processor's payment token"}
    )


class PurchaseRequest(Schema):
    user_id = identifier(required=True, metadata={"example": "ann"})
    country = fields.String(required=True, validate=COUNTRY, metadata={"example": "US"})
    birth_date = fields.Date(required=True, metadata={"example": "1990-04-01"})
    package_id = fields.String(
        validate=Pattern(r"^coins_[0-9]{1,9}$", error="Unknown package."),
        metadata={"example": "coins_70", "description": "A package of the price list; or give `coins`"},
    )
    coins = StrictInteger(
        validate=validate.Range(min=CUSTOM_MIN_COINS, max=CUSTOM_MAX_COINS),
        metadata={"description": "A custom amount of coins; or give `package_id`"},
    )
    payment = fields.Nested(PaymentSchema, required=True)

    @validates_schema
    def _one_of_package_or_coins(self, data, **_):
        if ("package_id" in data) == ("coins" in data):
            message = "Give exactly one of package_id and coins."
            raise ValidationError({"package_id": [message], "coins": [message]})

    @post_load
    def _upper(self, data, **_):
        return {**data, "country": data["country"].upper()}


class PackageSchema(Schema):
    package_id = fields.String(metadata={"example": "coins_70"})
    coins = fields.Integer(metadata={"example": 70})
    price = fields.Method("_price", metadata={"type": "object", "example": {"amount_minor": 99, "currency": "USD"}})

    def _price(self, package):
        return {"amount_minor": package.amount_minor, "currency": package.currency}


class PackagesSchema(Schema):
    country = fields.String(metadata={"example": "US"})
    currency = fields.String(metadata={"example": "USD"})
    minor_unit_digits = fields.Integer(metadata={"example": 2})
    packages = fields.List(fields.Nested(PackageSchema))


class PurchaseSchema(Schema):
    purchase_id = fields.String(metadata={"example": "01938a6e-7c1f-7a4b-9d2e-5f3c8b1a2d4e"})
    user_id = fields.String(metadata={"example": "ann"})
    country = fields.String(metadata={"example": "US"})
    package_id = fields.String(metadata={"example": "coins_70"})
    coins = fields.Integer(metadata={"example": 70})
    price = fields.Method("_price", metadata={"type": "object", "example": {"amount_minor": 99, "currency": "USD"}})
    status = fields.String(
        metadata={"enum": ["pending", "completed", "declined", "reversed", "held"], "example": "completed"}
    )
    created_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})
    completed_at = fields.DateTime(allow_none=True, metadata={"example": "2026-12-03T11:40:00.123456+00:00"})
    reversed_at = fields.DateTime(allow_none=True)

    def _price(self, purchase):
        return MoneySchema().dump({"amount_minor": purchase.amount_minor, "currency": purchase.currency})


class PurchasePageSchema(Schema):
    user_id = fields.String()
    purchases = fields.List(fields.Nested(PurchaseSchema))
    next_cursor = fields.String(allow_none=True)


class PageQuery(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class ChargebackRequest(Schema):
    purchase_id = identifier(required=True, metadata={"example": "01938a6e-7c1f-7a4b-9d2e-5f3c8b1a2d4e"})
    reason = text(max_length=200, required=True, metadata={"example": "fraudulent"})


class ChargebackSchema(Schema):
    chargeback_id = fields.String(metadata={"example": "01938a70-1b2c-7d3e-8f40-a1b2c3d4e5f6"})
    purchase_id = fields.String(metadata={"example": "01938a6e-7c1f-7a4b-9d2e-5f3c8b1a2d4e"})
    user_id = fields.String(metadata={"example": "ann"})
    coins = fields.Integer(metadata={"example": 70})
    reason = fields.String(metadata={"example": "fraudulent"})
    created_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})
    status = fields.String(
        metadata={
            "enum": ["pending", "reversed", "void"],
            "example": "reversed",
            "description": "pending until the purchase settles; reversed: coins taken back; void: nothing was taken",
        }
    )
    settled_at = fields.DateTime(allow_none=True)


class PurchaseTotalsSchema(EventCountsSchema):
    coins_bought = fields.Integer()
    coins_reversed = fields.Integer()
    purchases_completed = fields.Integer()
    purchases_pending = fields.Integer()
    purchases_overdue = fields.Integer(metadata={"description": "Pending longer than the reconciler's bound"})
    chargebacks = fields.Integer(metadata={"description": "Chargebacks that reversed their purchase"})
    chargebacks_pending = fields.Integer(metadata={"description": "Recorded, waiting for their purchase to settle"})
    chargebacks_void = fields.Integer(metadata={"description": "Against a declined purchase: nothing taken"})
    purchases_held = fields.Integer(metadata={"description": "Held for review: the processor's answer did not match"})


class InternalPurchaseSchema(Schema):
    purchase_id = fields.String()
    user_id = fields.String()
    country = fields.String()
    package_id = fields.String()
    coins = fields.Integer()
    amount_minor = fields.Integer()
    currency = fields.String()
    status = fields.String()
    chargeback_id = fields.String(allow_none=True, metadata={"description": "The chargeback recorded, if any"})
    chargeback_coins = fields.Integer(allow_none=True)
    chargeback_status = fields.String(allow_none=True, metadata={"enum": ["pending", "reversed", "void", None]})


class InternalPurchasePageSchema(Schema):
    purchases = fields.List(fields.Nested(InternalPurchaseSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "None after the last page"})
