"""The published event contracts (docs/events) are current, valid JSON Schema, and describe
exactly the events the services build."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from coinsctl.event_docs import documents
from shared.contracts import CONTRACTS, GIFT_SENT, PURCHASE_COMPLETED, envelope_to_dict, new_event

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_the_checked_in_documents_are_what_the_schemas_generate():
    for name, document in documents().items():
        assert json.loads((DOCS / name).read_text()) == document, f"run `coinsctl contracts`: {name} is stale"


def test_each_event_schema_is_valid_json_schema_and_every_topic_has_one():
    for topic in CONTRACTS:
        jsonschema.Draft202012Validator.check_schema(json.loads((DOCS / f"{topic}.schema.json").read_text()))
    channels = json.loads((DOCS / "asyncapi.json").read_text())["channels"]
    assert sorted(c["address"] for c in channels.values()) == sorted(CONTRACTS)


def test_an_event_the_services_build_validates_and_a_wrong_one_does_not():
    schema = json.loads((DOCS / "gift.sent.v1.schema.json").read_text())
    envelope, _ = new_event(
        GIFT_SENT,
        source="gifting",
        data={
            "gift_tx_id": "g1",
            "sender_id": "ann",
            "creator_id": "cat",
            "gift_id": "rose",
            "quantity": 2,
            "coins": 2,
            "diamonds": 2,
            "stream_id": None,
            "sent_at": "2026-11-25T10:00:00+00:00",
        },
    )
    event = json.loads(json.dumps(envelope_to_dict(envelope)))
    jsonschema.validate(event, schema)
    event["data"]["coins"] = 2.5  # money is an integer, in the document as in the code
    try:
        jsonschema.validate(event, schema)
    except jsonschema.ValidationError as exc:
        assert "integer" in exc.message
    else:
        raise AssertionError("a float amount validated")
    other = json.loads((DOCS / "purchase.completed.v1.schema.json").read_text())
    assert other["properties"]["type"] == {"const": PURCHASE_COMPLETED.type}
