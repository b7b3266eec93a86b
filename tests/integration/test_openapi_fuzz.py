"""An OpenAPI-driven fuzz run (schemathesis) against each service on PostgreSQL: no 500, every
response conforms to the published document, and invalid input is refused with a 4xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from services.gifting.api.schemas import GiftBatchEnvelope
from shared.fields import schema
from tests.integration.conftest import build_service

pytestmark = pytest.mark.integration
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def caller_for(path: str) -> str:
    return "processor" if path == "/v1/chargebacks" else "ops" if path.startswith("/v1/internal") else "gateway"


def valid_once_sent(case, operation) -> bool:
    """Whether a negative case's invalid parts all vanish on the wire, so a 2xx is right: every
    request carries a valid token (a missing or mangled Authorization is replaced), an extra
    query parameter whose value is an empty list encodes to nothing (`?limit=1` for {"": []}), and
    an optional query parameter made an object, an empty list or null is not sent under its name
    (form style, exploded: `?cursor={"": [...]}` sends `=...`)."""
    negative = {location for location, info in case._meta.components.items() if info.mode.is_negative}
    if negative == {ParameterLocation.HEADER}:
        return True
    mutations = getattr(getattr(case._meta.phase, "data", None), "mutations", None)
    if not mutations:
        return False
    parameters = [p for p in operation.definition.raw.get("parameters", []) if p.get("in") == "query"]
    declared = {p["name"] for p in parameters}
    required = {p["name"] for p in parameters if p.get("required")}
    query = case.query or {}
    extra_sent = any(value != [] for name, value in query.items() if name not in declared)

    def not_sent(name) -> bool:
        value = query.get(name)
        return name not in required and (value is None or value == [] or isinstance(value, dict))

    return all(
        m.parameter_location is ParameterLocation.HEADER
        or (
            m.parameter_location is ParameterLocation.QUERY
            and m.keywords == ("additionalProperties",)
            and not extra_sent
        )
        or (m.parameter_location is ParameterLocation.QUERY and m.parameter in declared and not_sent(m.parameter))
        for m in mutations
    )


def only_items_invalid(case, operation) -> bool:
    """POST /v1/gift-batches answers a bad item with that item's outcome (200, the problem it would
    get alone): a negative case whose batch as a whole is well formed (an object of 1-1,000
    `gifts`, nothing else) is rightly accepted."""
    if operation.path != "/v1/gift-batches":
        return False
    negative = {location for location, info in case._meta.components.items() if info.mode.is_negative}
    if not negative <= {ParameterLocation.HEADER, ParameterLocation.BODY}:
        return False
    return isinstance(case.body, dict) and not schema(GiftBatchEnvelope).validate(case.body)


@pytest.mark.parametrize("service", ["purchase", "gifting", "payout"])
def test_every_operation_survives_generated_and_mutated_requests(service, postgres, auth):
    url = postgres.create_database(f"schemathesis_{service}")
    svc, client = build_service(service, url)
    try:
        schema = schemathesis.openapi.from_wsgi("/openapi.json", client.application)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert operations
        statuses: list[int] = []
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case):
                    headers = {**(case.headers or {}), **auth(caller_for(operation.path), service=service)}
                    valid_as_sent = mode is GenerationMode.NEGATIVE and (
                        valid_once_sent(case, operation) or only_items_invalid(case, operation)
                    )
                    checks = [c for c in CHECKS if not (valid_as_sent and c is negative_data_rejection)]
                    statuses.append(case.call_and_validate(headers=headers, checks=checks).status_code)

                run()
        assert len(statuses) >= 10 * len(operations)
        assert {s for s in statuses if s >= 400} and {s for s in statuses if s < 300}, sorted(set(statuses))
    finally:
        svc.engine.dispose()
        postgres.drop_database(url)
