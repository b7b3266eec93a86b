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
