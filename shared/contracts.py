"""The event contracts between services: the envelope and each event's data schema.

A topic is `<type>.v<version>`; its dead-letter topic is `<topic>.dlq`. Message keys keep
one user's (or one creator's) events in order on one partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, validate

from shared.clock import utcnow
from shared.fields import CURRENCY_PATTERN, MAX_AMOUNT, Pattern, StrictInteger, identifier, schema
from shared.ids import new_id


class EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = StrictInteger(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=None)
    source = fields.String(required=True, validate=validate.Length(min=1, max=50))
    data = fields.Dict(required=True)


class PurchaseCompletedV1(Schema):
    purchase_id = fields.String(required=True)
    user_id = identifier(required=True)
    coins = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    amount_minor = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
    currency = fields.String(required=True, validate=Pattern(CURRENCY_PATTERN))
    country = fields.String(required=True)


class PurchaseReversedV1(Schema):
    purchase_id = fields.String(required=True)
    chargeback_id = fields.String(required=True)
    user_id = identifier(required=True)
    coins = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    reason = fields.String(required=True)


class GiftSentV1(Schema):
    gift_tx_id = fields.String(required=True)
    sender_id = identifier(required=True)
    creator_id = identifier(required=True)
    gift_id = fields.String(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(min=1, max=99))
    coins = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    diamonds = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    stream_id = fields.String(load_default=None, allow_none=True)
    sent_at = fields.AwareDateTime(required=True)


class WithdrawalSettledV1(Schema):
    withdrawal_id = fields.String(required=True)
    creator_id = identifier(required=True)
    diamonds = StrictInteger(required=True, validate=validate.Range(min=1, max=MAX_AMOUNT))
    gross_minor = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
    fee_minor = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
    net_minor = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_AMOUNT))
    currency = fields.String(required=True)
    reason = fields.String(load_default=None, allow_none=True)


class PayoutMethodChangedV1(Schema):
    """For a notifier: tell the creator where their payouts go now (accounts masked to their last
    four characters), who asked, and until when new withdrawals wait."""

    change_id = fields.String(required=True)
    creator_id = identifier(required=True)
    old_method = fields.String(required=True)
    old_account = fields.String(required=True)
    new_method = fields.String(required=True)
    new_account = fields.String(required=True)
    changed_by = fields.String(required=True)
    requested_by = fields.String(required=True)
    changed_at = fields.AwareDateTime(required=True)
    hold_until = fields.AwareDateTime(required=True)


class PayoutMethodHoldLiftedV1(Schema):
    """For a notifier: tell the creator that an operator ended the hold of their last payout method
    change early (who, at whose request, why), and how many waiting withdrawals go out now. The
    other half of `payout_method.changed`: a hold lifted for a hijacker is a change the owner must
    hear of too."""

    change_id = fields.String(required=True)
    creator_id = identifier(required=True)
    hold_until = fields.AwareDateTime(required=True)
    lifted_at = fields.AwareDateTime(required=True)
    lifted_by = fields.String(required=True)
    requested_by = fields.String(required=True)
    reason = fields.String(required=True)
    withdrawals_released = StrictInteger(required=True, validate=validate.Range(min=0))


@dataclass(frozen=True)
class Contract:
    type: str
    version: int
    schema: type[Schema]
    key_field: str
    producer: str  # the one service that publishes it (and the only one the broker lets write it)
    consumers: tuple[str, ...] = ()  # the services that apply it (and dead-letter what they cannot)

    @property
    def topic(self) -> str:
        return f"{self.type}.v{self.version}"

    @property
    def validator(self) -> Schema:
        """One shared instance (building a marshmallow schema costs more than using it)."""
        return schema(self.schema)


PURCHASE_COMPLETED = Contract("purchase.completed", 1, PurchaseCompletedV1, "user_id", "purchase", ("gifting",))
PURCHASE_REVERSED = Contract("purchase.reversed", 1, PurchaseReversedV1, "user_id", "purchase", ("gifting",))
GIFT_SENT = Contract("gift.sent", 1, GiftSentV1, "creator_id", "gifting", ("payout",))
WITHDRAWAL_COMPLETED = Contract("withdrawal.completed", 1, WithdrawalSettledV1, "creator_id", "payout")
WITHDRAWAL_FAILED = Contract("withdrawal.failed", 1, WithdrawalSettledV1, "creator_id", "payout")
PAYOUT_METHOD_CHANGED = Contract("payout_method.changed", 1, PayoutMethodChangedV1, "creator_id", "payout")
PAYOUT_METHOD_HOLD_LIFTED = Contract("payout_method.hold_lifted", 1, PayoutMethodHoldLiftedV1, "creator_id", "payout")

CONTRACTS = {
    c.topic: c
    for c in (
        PURCHASE_COMPLETED,
        PURCHASE_REVERSED,
        GIFT_SENT,
        WITHDRAWAL_COMPLETED,
        WITHDRAWAL_FAILED,
        PAYOUT_METHOD_CHANGED,
        PAYOUT_METHOD_HOLD_LIFTED,
    )
}
ALL_TOPICS = tuple(CONTRACTS) + tuple(f"{t}.dlq" for t in CONTRACTS)


@dataclass(frozen=True)
class Envelope:
    event_id: str
    type: str
    version: int
    occurred_at: datetime
    source: str
    data: dict

    @property
    def topic(self) -> str:
        return f"{self.type}.v{self.version}"


def new_event(contract: Contract, *, source: str, data: dict) -> tuple[Envelope, str]:
    """Build an envelope for `data` (validated against the contract); returns it and its key."""
    payload = contract.validator.dump(contract.validator.load(_jsonable(data)))
    envelope = Envelope(
        event_id=new_id(),
        type=contract.type,
        version=contract.version,
        occurred_at=utcnow(),
        source=source,
        data=payload,
    )
    return envelope, str(payload[contract.key_field])


def new_events(contract: Contract, *, source: str, datas: list[dict]) -> list[tuple[Envelope, str]]:
    """`new_event` for many events of one contract that our own code built alike, from fields
    already validated by the same rules (one batch's gifts): the contract checks each shape (its
    keys and value types) once, on its first event, and every later event of that shape is the
    same payload from its own values; an event of another shape is checked on its own. A
    marshmallow load and dump per event cost more than everything else done for a batched gift."""
    validated: set[tuple] = set()  # shapes (keys and value types, in order) the contract let through unchanged
    occurred_at = utcnow()  # one transaction writes them all
    events = []
    for data in datas:
        payload = _jsonable(data)
        shape = tuple((name, type(value)) for name, value in payload.items())
        if shape not in validated:
            checked = contract.validator.dump(contract.validator.load(payload))
            if list(checked.items()) == list(payload.items()):  # nothing dropped, added, reordered or converted
                validated.add(shape)
            payload = checked
        envelope = Envelope(new_id(), contract.type, contract.version, occurred_at, source, payload)
        events.append((envelope, str(payload[contract.key_field])))
    return events


def envelope_to_dict(envelope: Envelope) -> dict:
    return {
        "event_id": envelope.event_id,
        "type": envelope.type,
        "version": envelope.version,
        "occurred_at": envelope.occurred_at.isoformat(),
        "source": envelope.source,
        "data": envelope.data,
    }


def parse_envelope(raw: dict) -> tuple[Envelope, dict]:
    """Validate the envelope and its data against the contract; raises marshmallow ValidationError."""
    loaded = _load(schema(EnvelopeSchema), raw)
    envelope = Envelope(
        event_id=str(loaded["event_id"]),
        type=loaded["type"],
        version=loaded["version"],
        occurred_at=loaded["occurred_at"],
        source=loaded["source"],
        data=loaded["data"],
    )
    contract = CONTRACTS.get(envelope.topic)
    if contract is None:
        raise ValidationError({"type": [f"unknown event type {envelope.topic}"]})
    return envelope, _load(contract.validator, envelope.data)


def _load(loader: Schema, raw) -> dict:
    """`loader.load(raw, unknown=EXCLUDE)` (an additive v1 change is no poison). A consumer loads
    every event it reads: when each field is there, the fields load it themselves, without the
    schema's per-field machinery (half the cost); anything else, a field's error included, goes
    through `load`, which says what is wrong as it always has."""
    if isinstance(raw, dict) and _plain(type(loader)):
        loaded = {}
        try:
            for name, field in loader.load_fields.items():
                if name not in raw:
                    break
                value = field.deserialize(raw[name], name, raw)
                if value is missing:
                    break
                loaded[name] = value
            else:
                return loaded
        except ValidationError:
            pass
    return loader.load(raw, unknown=EXCLUDE)


@cache
def _plain(cls: type[Schema]) -> bool:
    """A schema whose load is its fields' loads and nothing more: no hooks or schema validators,
    every field under its own name (no data_key, no attribute)."""
    loader = schema(cls)
    return (
        not any(getattr(loader, "_hooks", {"unknown": [True]}).values())
        and loader.dict_class is dict
        and all(f.data_key is None and f.attribute is None for f in loader.load_fields.values())
    )


def _jsonable(data: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}
