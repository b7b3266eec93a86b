"""The shared edge, without I/O: envelopes, problem documents (tokens: test_auth_tokens.py)."""

import pytest
from marshmallow import ValidationError

from shared.clock import utcnow
from shared.contracts import GIFT_SENT, envelope_to_dict, new_event, parse_envelope
from shared.errors import validation_problem


def test_an_event_round_trips_through_its_envelope():
    data = {
        "gift_tx_id": "g1",
        "sender_id": "v",
        "creator_id": "c",
        "gift_id": "rose",
        "quantity": 2,
        "coins": 2,
        "diamonds": 2,
        "stream_id": None,
        "sent_at": utcnow(),
    }
    envelope, key = new_event(GIFT_SENT, source="gifting", data=data)
    assert key == "c"
    parsed, loaded = parse_envelope(envelope_to_dict(envelope))
    assert parsed.event_id == envelope.event_id and loaded["coins"] == 2


def test_an_event_that_breaks_its_contract_is_refused():
    envelope, _ = new_event(
        GIFT_SENT,
        source="gifting",
        data={
            "gift_tx_id": "g1",
            "sender_id": "v",
            "creator_id": "c",
            "gift_id": "rose",
            "quantity": 1,
            "coins": 1,
            "diamonds": 1,
            "sent_at": utcnow(),
        },
    )
    raw = envelope_to_dict(envelope)
    raw["data"]["coins"] = 1.5
    with pytest.raises(ValidationError):
        parse_envelope(raw)
    with pytest.raises(ValidationError):
        parse_envelope({**raw, "type": "gift.stolen"})


def test_nested_field_errors_are_named_with_dots():
    problem = validation_problem({"payment": {"token": ["Missing data for required field."]}})
    assert problem.status == 422 and problem.errors == {"payment.token": ["Missing data for required field."]}


def test_responses_render_as_flasks_own_json_does():
    """CompactJSON (orjson) against Flask's provider: the same text for every type a view returns
    (dates as HTTP dates, dataclasses, Decimal, UUID, a str enum, an integer past 64 bits), keys
    in the view's order, compact; only text past ASCII travels as UTF-8 instead of escapes."""
    import dataclasses
    import decimal
    import enum
    import json
    import uuid
    from datetime import UTC, date, datetime

    from flask import Flask

    from shared.http.app import CompactJSON

    @dataclasses.dataclass
    class Part:
        coins: int

    class Kind(enum.StrEnum):
        GIFT = "gift"

    body = {
        "z": 1,
        "a": [1, None, True],
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "on": date(2026, 1, 2),
        "amount": decimal.Decimal("1.50"),
        "id": uuid.UUID(int=5),
        "part": Part(3),
        "kind": Kind.GIFT,
        "big": 10**30,
    }
    ours, flasks = Flask("ours"), Flask("flasks")
    ours.json = CompactJSON(ours)
    flasks.json.sort_keys = False
    with ours.app_context():
        rendered = ours.json.response(body).get_data(as_text=True)
        text = ours.json.response({"name": "é"}).get_data(as_text=True)
    with flasks.app_context():
        assert rendered == flasks.json.response(body).get_data(as_text=True)
        assert json.loads(text) == json.loads(flasks.json.response({"name": "é"}).get_data(as_text=True))
