"""The batch gift route's cheap paths answer exactly what the per-item paths they replace answer:
items read by `ManyItems` as the schema reads them (same values, same errors), events built by
`new_events` as `new_event` builds them (every one within its contract), the fingerprint of a
parsed body as of its bytes, a gift rendered as its schema dumps it, array literals as element by
element, an event read by `parse_envelope` as its schemas load it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from marshmallow import EXCLUDE, ValidationError

from services.gifting.api import schemas
from services.gifting.api.views import _rendered
from services.gifting.domain.model import GiftTransaction
from shared.contracts import (
    CONTRACTS,
    GIFT_SENT,
    EnvelopeSchema,
    envelope_to_dict,
    new_event,
    new_events,
    parse_envelope,
)
from shared.db.pg_arrays import _quoted, array_literal
from shared.fields import schema
from shared.http.app import ManyItems
from shared.idempotency import KeyedRequest

GOOD = {"sender_id": "ann", "creator_id": "cara", "gift_id": "rose", "idempotency_key": "k-1"}
ITEMS = [
    GOOD,
    {**GOOD, "quantity": 5, "stream_id": "s-1", "idempotency_key": "k-2"},
    {**GOOD, "stream_id": None, "grant": None},
    {**GOOD, "quantity": True},  # a bool is no integer (and True == 1 must not hit 1's check)
    {**GOOD, "quantity": 1},
    {**GOOD, "quantity": 1.0},
    {**GOOD, "quantity": 100},
    {**GOOD, "quantity": "2"},
    {**GOOD, "gift_id": "no-such-gift"},
    {**GOOD, "sender_id": "bad id!"},
    {**GOOD, "sender_id": None},
    {**GOOD, "creator_id": ["cara"]},  # unhashable
    {**GOOD, "creator_id": {"x": 1}},
    {**GOOD, "color": "red"},  # unknown field
    {key: value for key, value in GOOD.items() if key != "gift_id"},  # missing
    {**GOOD, "idempotency_key": ""},
    {**GOOD, "grant": ""},
    "not an object",
    [GOOD],
    {},
]


def _load(loader, raw):
    try:
        return "ok", loader(raw)
    except ValidationError as exc:
        return "refused", exc.messages


def test_many_items_reads_every_item_as_the_schema_reads_it_alone():
    item_schema = schema(schemas.GiftBatchItem)
    reader = ManyItems(item_schema)
    for raw in ITEMS + ITEMS:  # twice: the second time every value is one it has seen
        assert _load(reader.load, raw) == _load(item_schema.load, raw), raw


def test_many_items_refuses_a_schema_with_hooks():
    from marshmallow import Schema, fields, post_load

    class Hooked(Schema):
        name = fields.String()

        @post_load
        def upper(self, data, **kwargs):
            return {"name": data["name"].upper()}

    with pytest.raises(TypeError):
        ManyItems(Hooked())


def _gift_sent(n: int, **changes) -> dict:
    data = {
        "gift_tx_id": f"g-{n}",
        "sender_id": f"viewer-{n}",
        "creator_id": "cara",
        "gift_id": "rose",
        "quantity": n % 99 + 1,
        "coins": n % 99 + 1,
        "diamonds": n % 99 + 1,
        "stream_id": None if n % 2 else "s-1",
        "sent_at": datetime(2026, 12, 3, 11, 40, n % 60, 123456, tzinfo=UTC),
    }
    return {**data, **changes}


def test_new_events_are_the_events_new_event_makes_each_within_its_contract():
    datas = [_gift_sent(n) for n in range(50)]
    batch = new_events(GIFT_SENT, source="gifting", datas=datas)
    for data, (envelope, key) in zip(datas, batch, strict=True):
        alone, alone_key = new_event(GIFT_SENT, source="gifting", data=data)
        assert (envelope.data, key) == (alone.data, alone_key)
        assert list(envelope.data) == list(alone.data)  # the same JSON, key order too
        parsed, _ = parse_envelope(json.loads(json.dumps(envelope_to_dict(envelope))))
        assert parsed.data == envelope.data


def test_new_events_checks_an_event_of_another_shape_on_its_own():
    good = _gift_sent(1)
    with pytest.raises(ValidationError):  # a quantity of another type: a new shape, checked
        new_events(GIFT_SENT, source="gifting", datas=[good, _gift_sent(2, quantity="2")])
    with pytest.raises(ValidationError):  # a field missing
        new_events(GIFT_SENT, source="gifting", datas=[good, {k: v for k, v in good.items() if k != "coins"}])


def test_a_parsed_body_has_the_fingerprint_of_its_bytes():
    body = {"sender_id": "ann", "creator_id": "cara", "gift_id": "rose", "quantity": 2, "note": "é\u2603"}
    of_bytes = KeyedRequest.of(caller="live", key="k", method="POST", path="/v1/gifts", body=json.dumps(body).encode())
    of_value = KeyedRequest.of_json(caller="live", key="k", method="POST", path="/v1/gifts", value=body)
    assert of_value == of_bytes


def test_a_batch_gift_is_rendered_as_its_schema_dumps_it():
    gift = GiftTransaction(
        gift_tx_id="g-1",
        sender_id="ann",
        creator_id="cara",
        gift_id="rose",
        quantity=3,
        coins_each=1,
        total_coins=3,
        diamonds=3,
        stream_id=None,
        sent_at=datetime(2026, 12, 3, 11, 40, 0, 123456, tzinfo=UTC),
        balance_after=7,
    )
    dumped = schema(schemas.GiftTransactionSchema).dump(gift)
    assert _rendered(gift) == dumped
    assert json.dumps(_rendered(gift)) == json.dumps(dumped)  # key order too


def _one_by_one(values: list) -> str:
    texts = []
    for value in values:
        if value is None:
            texts.append("NULL")
        elif isinstance(value, bool):
            texts.append("true" if value else "false")
        elif isinstance(value, int):
            texts.append(str(value))
        else:
            texts.append(_quoted(value.isoformat() if isinstance(value, datetime) else str(value)))
    return "{" + ",".join(texts) + "}"


@pytest.mark.parametrize(
    "values",
    [
        [],
        [""],
        ["", ""],
        ['a"b', "c\\d", "", "{", "}", ",", " "],
        ["x\0y", "z"],  # a NUL stays inside its element, for PostgreSQL to refuse
        [1, -2, 30],
        [True, 1],
        [datetime(2026, 1, 1, tzinfo=UTC)] * 3 + [datetime(2026, 1, 2, tzinfo=UTC)],
        [datetime(2026, 1, 1, tzinfo=UTC), None],
        ["a", None],
        [1.5, "x"],
    ],
)
def test_an_array_literal_is_the_elements_quoted_one_by_one(values):
    assert array_literal(values) == _one_by_one(values)


def test_a_type_binds_each_distinct_value_of_a_column_as_it_binds_it_alone():
    from sqlalchemy.dialects import postgresql

    from shared.db.engines import UTCDateTime
    from shared.db.pg_arrays import _bound

    moments = [datetime(2026, 1, 1, tzinfo=UTC)] * 3 + [None, datetime(2026, 1, 2, 1, tzinfo=UTC)]
    column_type, dialect = UTCDateTime(), postgresql.dialect()
    assert _bound(column_type, moments, dialect) == [column_type.process_bind_param(m, dialect) for m in moments]
    with pytest.raises(ValueError):  # a naive timestamp is still refused
        _bound(column_type, [datetime(2026, 1, 1)], dialect)


_SENT = envelope_to_dict(new_event(GIFT_SENT, source="gifting", data=_gift_sent(1))[0])
EVENTS = [
    _SENT,
    {**_SENT, "extra": 1, "data": {**_SENT["data"], "added_in_v1": "x"}},  # unknown fields: dropped
    {**_SENT, "data": {k: v for k, v in _SENT["data"].items() if k != "stream_id"}},  # a load_default
    {**_SENT, "event_id": _SENT["event_id"].upper()},  # a UUID as the field reads it, normalised
    {**_SENT, "event_id": "not-a-uuid"},
    {**_SENT, "version": True},
    {**_SENT, "occurred_at": "2026-01-01T00:00:00"},  # naive
    {k: v for k, v in _SENT.items() if k != "source"},
    {**_SENT, "data": {**_SENT["data"], "quantity": 100}},
    {**_SENT, "data": {**_SENT["data"], "diamonds": "1"}},
    {**_SENT, "data": {**_SENT["data"], "creator_id": None}},
    {**_SENT, "data": {**_SENT["data"], "sender_id": "bad id!"}},
    {**_SENT, "data": None},
    {**_SENT, "type": "no.such"},
]


@pytest.mark.parametrize("raw", EVENTS)
def test_parse_envelope_reads_an_event_as_the_schemas_load_it(raw):
    """parse_envelope's loads (fields alone when all are there) against the schemas' own load."""

    def by_schemas(raw):
        loaded = schema(EnvelopeSchema).load(raw, unknown=EXCLUDE)
        contract = CONTRACTS.get(f"{loaded['type']}.v{loaded['version']}")
        if contract is None:
            raise ValidationError({"type": [f"unknown event type {loaded['type']}.v{loaded['version']}"]})
        return loaded, contract.validator.load(loaded["data"], unknown=EXCLUDE)

    try:
        expected = by_schemas(raw)
    except ValidationError as exc:
        with pytest.raises(ValidationError) as raised:
            parse_envelope(raw)
        assert raised.value.messages == exc.messages
        return
    envelope, data = parse_envelope(raw)
    assert list(data.items()) == list(expected[1].items())
    assert (envelope.event_id, envelope.occurred_at, envelope.data) == (
        str(expected[0]["event_id"]),
        expected[0]["occurred_at"],
        expected[0]["data"],
    )
