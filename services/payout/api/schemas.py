"""The payout service's request and response schemas."""

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.payout.domain.model import mask
from shared.fields import Pattern, StrictInteger, identifier
from shared.http.audit import EventCountsSchema

BANK_ACCOUNT = Pattern(r"^[A-Za-z0-9][A-Za-z0-9 -]{3,33}$", error="Must be 4-34 letters, digits, spaces or dashes.")

PAYPAL_ACCOUNT = validate.Email(error="A PayPal account is an email address.")


class PayoutMethodSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(["bank", "paypal"]))
    account = fields.String(required=True, validate=validate.Length(min=4, max=254))

    @validates_schema
    def _account_fits_type(self, data, **_):
        check = {"paypal": PAYPAL_ACCOUNT, "bank": BANK_ACCOUNT}.get(data.get("type"))
        try:
            if check is not None:
                check(data.get("account", ""))
        except ValidationError as exc:
            raise ValidationError({"account": exc.messages}) from None


class RegisterCreatorRequest(Schema):
    creator_id = identifier(required=True)
    country = fields.String(
        required=True, validate=Pattern(r"^[A-Za-z]{2}$", error="Must be an ISO 3166-1 alpha-2 country code.")
    )
    birth_date = fields.Date(required=True)
    payout_method = fields.Nested(PayoutMethodSchema, required=True)

    @post_load
    def _upper(self, data, **_):
        return {**data, "country": data["country"].upper()}


class CreatorSchema(Schema):
    creator_id = fields.String()
    country = fields.String()
    payout_method = fields.Method("_method", metadata={"type": "object"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _method(self, creator):
        return {"type": creator.payout_method, "account": mask(creator.payout_account)}


class ChangePayoutMethodRequest(Schema):
    payout_method = fields.Nested(PayoutMethodSchema, required=True)


class PayoutMethodChangeSchema(Schema):
    change_id = fields.String()
    creator_id = fields.String()
    previous = fields.Method("_old", metadata={"type": "object"})
    payout_method = fields.Method("_new", metadata={"type": "object"})
    changed_by = fields.String(metadata={"description": "The calling service that made the change"})
    requested_by = fields.String(
        allow_none=True, metadata={"description": "The end user who asked (null: recorded before this was)"}
    )
    changed_at = fields.DateTime()
    hold_until = fields.DateTime(
        allow_none=True, metadata={"description": "New withdrawals are refused (409) until then"}
    )

    def _old(self, change):
        return {"type": change.old_method, "account": mask(change.old_account)}

    def _new(self, change):
        return {"type": change.new_method, "account": mask(change.new_account)}


class PayoutMethodChangesSchema(Schema):
    creator_id = fields.String()
    changes = fields.List(fields.Nested(PayoutMethodChangeSchema))


class EarningsSchema(Schema):
    creator_id = fields.String()
    total = fields.Integer(metadata={"description": "Diamonds ever credited"})
    pending = fields.Integer(metadata={"description": "Diamonds on hold"})
    available = fields.Integer(metadata={"description": "Diamonds that can be withdrawn"})
    withdrawn = fields.Integer(metadata={"description": "Diamonds paid out or in flight"})
    in_flight = fields.Integer()
    paid_out = fields.Integer()
    available_value_minor = fields.Integer(metadata={"description": "Cash value of `available`, in cents"})
    currency = fields.Constant("USD")


class WithdrawalRequest(Schema):
    creator_id = identifier(required=True)
    amount_minor = StrictInteger(
        required=True, validate=validate.Range(min=1, max=10**12), metadata={"description": "Gross amount in USD cents"}
    )
    currency = fields.String(load_default="USD", validate=validate.Equal("USD", error="Withdrawals are in USD."))


class WithdrawalSchema(Schema):
    withdrawal_id = fields.String()
    creator_id = fields.String()
    status = fields.String(metadata={"enum": ["pending", "processing", "held", "completed", "failed"]})
    diamonds = fields.Integer()
    gross_minor = fields.Integer()
    fee_minor = fields.Integer()
    net_minor = fields.Integer()
    currency = fields.String()
    payout_method = fields.String()
    failure_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    settled_at = fields.DateTime(allow_none=True)


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
