"""The event contracts as documents a consumer in any language can use: one JSON Schema per
event (the envelope with its `data`) and an AsyncAPI 3.0 document naming each topic, its key,
its headers and its producer. Generated from the same marshmallow schemas the services
validate with (`shared.contracts`), so the documents cannot drift from what is produced;
`coinsctl contracts` writes them under docs/events/ and a test checks the copy is current.
"""

from __future__ import annotations

import copy

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.contracts import CONTRACTS, Contract, EnvelopeSchema

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"
HEADERS = {
    "type": "object",
    "required": ["event_id", "type"],
    "properties": {
        "event_id": {"type": "string", "format": "uuid", "description": "the envelope's event_id"},
        "type": {"type": "string", "description": "the envelope's type"},
        "traceparent": {
            "type": "string",
            "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "description": "W3C Trace Context: the trace of the request (or job) that caused the event, and the "
            "span that wrote it; a consumer's span continues it (its parent)",
        },
        "tracestate": {"type": "string", "description": "W3C Trace Context: the caller's tracestate, passed on"},
        "trace_id": {
            "type": "string",
            "deprecated": True,
            "description": "traceparent's trace id alone, for consumers that predate traceparent",
        },
    },
}


def _converter():
    spec = APISpec(title="coins events", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()])
    return spec.plugins[0].converter  # what spec.components.schema would use, without $ref indirection


def event_schema(contract: Contract) -> dict:
    """The JSON Schema of one event's message value: the envelope, its `data` this contract's."""
    convert = _converter()
    envelope = convert.schema2jsonschema(EnvelopeSchema)
    data = convert.schema2jsonschema(contract.schema)
    # Consumers must accept fields added within a version (an additive change); producers add
    # none that is not documented here (the tests check what is produced against `properties`).
    data["additionalProperties"] = envelope["additionalProperties"] = True
    envelope["properties"]["data"] = data
    envelope["properties"]["type"] = {"const": contract.type}
    envelope["properties"]["version"] = {"const": contract.version}
    return {
        "$schema": JSON_SCHEMA,
        "$id": f"urn:coins:event:{contract.topic}",
        "title": contract.topic,
        "description": f"{contract.topic}: published by {contract.producer}, keyed by data.{contract.key_field}.",
        **envelope,
    }


def asyncapi_document(version: str = "1") -> dict:
    """Every topic: its message (payload schema, headers, key) and who sends and receives it."""
    channels, operations, messages = {}, {}, {}
    for topic, contract in sorted(CONTRACTS.items()):
        name = topic.replace(".", "_")
        payload = copy.deepcopy(event_schema(contract))
        payload.pop("$schema")
        messages[name] = {
            "name": topic,
            "contentType": "application/json",
            "payload": payload,
            "headers": HEADERS,
            "bindings": {"kafka": {"key": {"type": "string", "description": f"data.{contract.key_field}"}}},
        }
        channels[name] = {
            "address": topic,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "description": f"Dead letters go to {topic}.dlq with the original key, value "
            f"and headers plus dlq.* headers.",
        }
        operations[f"{contract.producer}_sends_{name}"] = {"action": "send", "channel": {"$ref": f"#/channels/{name}"}}
        for consumer in contract.consumers:
            operations[f"{consumer}_receives_{name}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{name}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "coins platform events", "version": version},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def documents() -> dict[str, dict]:
    """File name -> document: asyncapi.json and one <topic>.schema.json per event."""
    docs = {"asyncapi.json": asyncapi_document()}
    docs.update({f"{topic}.schema.json": event_schema(c) for topic, c in sorted(CONTRACTS.items())})
    return docs
