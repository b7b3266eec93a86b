"""The payout service's request and response schemas."""

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.payout.domain.model import mask
from shared.fields import Pattern, StrictInteger, identifier, text
from shared.http.audit import EventCountsSchema

BANK_ACCOUNT = Pattern(r"^[A-Za-z0-9][A-Za-z0-9 -]{3,33}$", error="Must be 4-34 letters, digits, spaces or dashes.")

PAYPAL_ACCOUNT = validate.Email(error="A PayPal account is an email address.")


class PayoutMethodSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["bank", "paypal"]), metadata={"example": "paypal"})
    # Printable: an email's quoted local part lets control characters through its validator, and a
    # destination of money is shown to the creator and to operators.
    account = fields.String(
        required=True,
        validate=[
            validate.Length(min=4, max=254),
            validate.Predicate("isprintable", error="Printable characters only."),
        ],
        metadata={"example": "cat@example.com"},
    )

    @validates_schema
    def _account_fits_type(self, data, **_):
        check = {"paypal": PAYPAL_ACCOUNT, "bank": BANK_ACCOUNT}.get(data.get("type"))
        try:
            if check is not None:
                check(data.get("account", ""))
        except ValidationError as exc:
            raise ValidationError({"account": exc.messages}) from None


class RegisterCreatorRequest(Schema):
    creator_id = identifier(required=True, metadata={"example": "cat"})
    country = fields.String(
        required=True,
        validate=Pattern(r"^[A-Za-z]{2}$", error="Must be an ISO 3166-1 alpha-2 country code."),
        metadata={"example": "US"},
    )
    birth_date = fields.Date(required=True, metadata={"example": "1995-07-15"})
    payout_method = fields.Nested(PayoutMethodSchema, required=True)

    @post_load
    def _upper(self, data, **_):
        return {**data, "country": data["country"].upper()}


MASKED_METHOD = {"type": "paypal", "account": "***********.com"}


class CreatorSchema(Schema):
    creator_id = fields.String(metadata={"example": "cat"})
    country = fields.String(metadata={"example": "US"})
    payout_method = fields.Method("_method", metadata={"type": "object", "example": MASKED_METHOD})
    created_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})
    updated_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})

    def _method(self, creator):
        return {"type": creator.payout_method, "account": mask(creator.payout_account)}


class ChangePayoutMethodRequest(Schema):
    payout_method = fields.Nested(PayoutMethodSchema, required=True)


class PayoutMethodChangeSchema(Schema):
    change_id = fields.String(metadata={"example": "01938a72-2d3e-7f40-8a5b-6c7d8e9fa0b1"})
    creator_id = fields.String(metadata={"example": "cat"})
    previous = fields.Method("_old", metadata={"type": "object", "example": {"type": "bank", "account": "****6789"}})
    payout_method = fields.Method("_new", metadata={"type": "object", "example": MASKED_METHOD})
    changed_by = fields.String(
        metadata={"description": "The calling service that made the change", "example": "gateway"}
    )
    requested_by = fields.String(
        allow_none=True,
        metadata={"description": "The end user who asked (null: recorded before this was)", "example": "cat"},
    )
    changed_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})
    hold_until = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "New withdrawals wait until then (their send_after)",
            "example": "2026-12-04T11:40:00.123456+00:00",
        },
    )

    hold_lifted_at = fields.DateTime(
        allow_none=True, metadata={"description": "An operator ended the hold then (null: not lifted)"}
    )
    hold_lifted_by = fields.String(allow_none=True, metadata={"description": "The calling service that lifted it"})
    hold_lift_requested_by = fields.String(allow_none=True, metadata={"description": "The operator who asked"})
    hold_lift_reason = fields.String(allow_none=True, metadata={"description": "Why the hold was lifted"})

    def _old(self, change):
        return {"type": change.old_method, "account": mask(change.old_account)}

    def _new(self, change):
        return {"type": change.new_method, "account": mask(change.new_account)}


class LiftMethodHoldRequest(Schema):
    reason = text(
        200, required=True, metadata={"description": "Why, recorded with the change", "example": "owner confirmed"}
    )
    operator = identifier(required=True, metadata={"description": "Who asked, recorded too", "example": "alice"})


class MethodHoldLiftSchema(Schema):
    change = fields.Nested(PayoutMethodChangeSchema, metadata={"description": "The change whose hold ended"})
    withdrawals_released = fields.Integer(
        metadata={"description": "Withdrawals that waited out the hold and are sent now", "example": 1}
    )


class PayoutMethodChangesSchema(Schema):
    creator_id = fields.String()
    changes = fields.List(fields.Nested(PayoutMethodChangeSchema))


class EarningsSchema(Schema):
    creator_id = fields.String(metadata={"example": "cat"})
    total = fields.Integer(metadata={"description": "Diamonds ever credited", "example": 12000})
    pending = fields.Integer(metadata={"description": "Diamonds on hold", "example": 2000})
    available = fields.Integer(metadata={"description": "Diamonds that can be withdrawn", "example": 8000})
    withdrawn = fields.Integer(metadata={"description": "Diamonds paid out or in flight", "example": 2000})
    in_flight = fields.Integer(metadata={"example": 0})
    paid_out = fields.Integer(metadata={"example": 2000})
    available_value_minor = fields.Integer(
        metadata={"description": "Cash value of `available`, in cents", "example": 4000}
    )
    currency = fields.Constant("USD", metadata={"example": "USD"})


class WithdrawalRequest(Schema):
    creator_id = identifier(required=True, metadata={"example": "cat"})
    amount_minor = StrictInteger(
        required=True,
        validate=validate.Range(min=1, max=10**12),
        metadata={"description": "Gross amount in USD cents", "example": 2500},
    )
    currency = fields.String(
        load_default="USD", validate=validate.Equal("USD", error="Withdrawals are in USD."), metadata={"example": "USD"}
    )


class WithdrawalSchema(Schema):
    withdrawal_id = fields.String(metadata={"example": "01938a73-3e4f-7a51-9b6c-7d8e9fa0b1c2"})
    creator_id = fields.String(metadata={"example": "cat"})
    status = fields.String(
        metadata={"enum": ["pending", "processing", "held", "completed", "failed"], "example": "pending"}
    )
    diamonds = fields.Integer(metadata={"example": 5000})
    gross_minor = fields.Integer(metadata={"example": 2500})
    fee_minor = fields.Integer(metadata={"example": 103})
    net_minor = fields.Integer(metadata={"example": 2397})
    currency = fields.String(metadata={"example": "USD"})
    payout_method = fields.String(metadata={"example": "paypal"})
    failure_reason = fields.String(allow_none=True, metadata={"example": None})
    created_at = fields.DateTime(metadata={"example": "2026-12-03T11:40:00.123456+00:00"})
    settled_at = fields.DateTime(allow_none=True)
    send_after = fields.DateTime(
        allow_none=True,
        metadata={
            "description": "Asked for in a payout method change's hold: not sent before this (null: at once)",
            "example": None,
        },
    )


class PayoutTotalsSchema(EventCountsSchema):
    diamonds_credited = fields.Integer()
    diamonds_pending = fields.Integer()
    diamonds_in_flight = fields.Integer()
    diamonds_paid_out = fields.Integer()
    gifts_credited = fields.Integer()
    accounts_earnings_mismatch = fields.List(fields.String())
    withdrawals_fee_mismatch = fields.Integer()
    withdrawals_overdue = fields.Integer(metadata={"description": "In flight longer than the worker's bound"})


class FeeRuleSchema(Schema):
    basis_points = fields.Integer()
    fixed_minor = fields.Integer()


class WithdrawalRulesSchema(Schema):
    """The rules this service prices withdrawals by, for the auditor to recompute them."""

    min_withdrawal_minor = fields.Integer()
    diamonds_per_usd = fields.Integer()
    fees = fields.Dict(keys=fields.String(), values=fields.Nested(FeeRuleSchema))


class InternalWithdrawalSchema(Schema):
    withdrawal_id = fields.String()
    creator_id = fields.String()
    diamonds = fields.Integer()
    gross_minor = fields.Integer()
    fee_minor = fields.Integer()
    net_minor = fields.Integer()
    currency = fields.String()
    payout_method = fields.String()
    status = fields.String()
    attempts = fields.Integer()


class InternalWithdrawalPageSchema(Schema):
    withdrawals = fields.List(fields.Nested(InternalWithdrawalSchema))
    rules = fields.Nested(WithdrawalRulesSchema)
    next_cursor = fields.String(allow_none=True, metadata={"description": "None after the last page"})


class InternalAccountWithdrawalSchema(Schema):
    withdrawal_id = fields.String()
    diamonds = fields.Integer()
    status = fields.String()


class InternalAccountSchema(Schema):
    creator_id = fields.String()
    credited_diamonds = fields.Integer()
    reserved_diamonds = fields.Integer()
    withdrawn_diamonds = fields.Integer()
    withdrawals = fields.List(
        fields.Nested(InternalAccountWithdrawalSchema), metadata={"description": "Read in the same snapshot"}
    )


class InternalAccountPageSchema(Schema):
    accounts = fields.List(fields.Nested(InternalAccountSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "None after the last page"})


class InternalEarningSchema(Schema):
    gift_tx_id = fields.String()
    creator_id = fields.String()
    diamonds = fields.Integer()


class InternalEarningPageSchema(Schema):
    earnings = fields.List(fields.Nested(InternalEarningSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "None after the last page"})
