"""Hostile input, property-based: whatever a caller sends, no 500, always problem+json, and a
refused request writes nothing (on PostgreSQL, which is strict about NULs and lengths)."""

from __future__ import annotations

import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import build_service, rows

pytestmark = pytest.mark.integration

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)

VALID = {
    ("purchase", "/v1/purchases"): {
        "user_id": "viewer",
        "country": "US",
        "birth_date": "1990-01-01",
        "package_id": "coins_70",
        "payment": {"method": "card", "token": "tok_visa"},
    },
    ("gifting", "/v1/gifts"): {"sender_id": "viewer", "creator_id": "creator", "gift_id": "rose", "quantity": 1},
    ("payout", "/v1/creators"): {
        "creator_id": "creator",
        "country": "US",
        "birth_date": "1990-01-01",
        "payout_method": {"type": "bank", "account": "DE89370400440532013000"},
    },
    ("payout", "/v1/withdrawals"): {"creator_id": "creator", "amount_minor": 10_000},
    ("purchase", "/v1/chargebacks"): {"purchase_id": "p-unknown", "reason": "fraud"},
    ("payout", "/v1/creators/creator/payout-method"): {
        "payout_method": {"type": "bank", "account": "GB29NWBK60161331"}
    },
}
# Every route that reads a body is above (POST /v1/purchases/{id}/refund reads none); these differ
# from a POST by the gateway.
CALLER = {("purchase", "/v1/chargebacks"): "processor"}
METHOD = {("payout", "/v1/creators/creator/payout-method"): "put"}
OPTIONAL = {("purchase", "/v1/purchases"): {"coins"}, ("gifting", "/v1/gifts"): {"stream_id"}}
WRITES = {
    "purchase": ["purchases", "chargebacks", "outbox"],
    "gifting": ["gifts", "outbox", "wallet_entries"],
    "payout": ["withdrawals", "payout_method_changes", "outbox"],
}


def mutated(valid: dict):
    """A valid body with fields dropped, replaced by any JSON (wrong types, huge ints, unicode,
    nesting) or added."""
    keys = st.sampled_from(sorted(valid)) | st.text(max_size=12)
    dropped = st.sets(st.sampled_from(sorted(valid)), max_size=2)
    return st.tuples(dropped, st.dictionaries(keys, json_values, max_size=4)).map(
        lambda change: {**{k: v for k, v in valid.items() if k not in change[0]}, **change[1]}
    )


def send(services, auth, target, **request):
    service, path = target
    headers = auth(CALLER.get(target, "gateway"), service=service, **{"Idempotency-Key": str(uuid.uuid4())})
    headers.update(request.pop("headers", {}))
    client = services[service][1]
    return getattr(client, METHOD.get(target, "post"))(path, headers=headers, **request)


def names_a_field(problem: dict, body: dict, target) -> bool:
    """A 400/422 names what it refuses: each key of `errors` is (under) a field sent or expected, or
    the body as a whole."""
    errors = problem.get("errors") or {}
    known = set(body) | set(VALID[target]) | OPTIONAL.get(target, set()) | {"body"}
    return bool(errors) and all(name in known or name.split(".")[0] in known for name in errors)


@pytest.fixture(scope="module")
def services(postgres):
    """One database per service for the whole module; hypothesis runs many examples against it."""
    made, urls = {}, []
    for service in ("purchase", "gifting", "payout"):
        urls.append(postgres.create_database(f"fuzz_{service}"))
        made[service] = build_service(service, urls[-1])
    yield made
    for svc, _ in made.values():
        svc.engine.dispose()
    for url in urls:
        postgres.drop_database(url)


@pytest.mark.parametrize("target", sorted(VALID), ids=lambda t: t[1])
def test_no_body_reaches_a_500_and_refusals_write_nothing(services, auth, target):
    service = target[0]
    svc = services[service][0]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=mutated(VALID[target]))
    def check(body):
        before = {table: rows(svc, table) for table in WRITES[service]}
        response = send(services, auth, target, json=body)
        assert response.status_code < 500, (body, response.get_json())
        if response.status_code >= 400:
            assert response.content_type == "application/problem+json"
            assert {table: rows(svc, table) for table in WRITES[service]} == before, body
        if response.status_code in (400, 422):
            assert names_a_field(response.get_json(), body, target), (body, response.get_json())

    check()


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(segment=st.text(min_size=1, max_size=300).filter(lambda s: "/" not in s and s not in (".", "..")))
def test_no_path_parameter_reaches_a_500(services, auth, segment):
    from urllib.parse import quote

    for service, template in [
        ("purchase", "/v1/purchases/{}"),
        ("purchase", "/v1/users/{}/purchases"),
        ("gifting", "/v1/wallets/{}"),
        ("gifting", "/v1/streams/{}/leaderboard"),
        ("payout", "/v1/creators/{}/earnings"),
        ("payout", "/v1/withdrawals/{}"),
    ]:
        response = services[service][1].get(template.format(quote(segment, safe="")), headers=auth(service=service))
        assert response.status_code in (200, 404), (template, segment, response.status_code)


@pytest.mark.parametrize(
    "field,value",
    [("user_id", "ann\n"), ("user_id", "a" * 64 + "\n"), ("country", "US\n"), ("package_id", "coins_70\n")],
)
def test_a_trailing_newline_is_refused_naming_the_field(services, auth, field, value):
    svc, client = services["purchase"]
    before = rows(svc, "purchases")
    response = client.post(
        "/v1/purchases",
        json={**VALID[("purchase", "/v1/purchases")], field: value},
        headers=auth(service="purchase", **{"Idempotency-Key": str(uuid.uuid4())}),
    )
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert rows(svc, "purchases") == before


def test_a_gift_to_oneself_with_a_newline_is_no_way_around_the_rule(services, auth):
    _, client = services["gifting"]
    body = {"sender_id": "ann", "creator_id": "ann\n", "gift_id": "rose", "quantity": 1}
    response = client.post(
        "/v1/gifts", json=body, headers=auth(service="gifting", **{"Idempotency-Key": str(uuid.uuid4())})
    )
    assert response.status_code == 422 and "creator_id" in response.get_json()["errors"]


@pytest.mark.parametrize(
    "target,field",
    [
        (("purchase", "/v1/purchases"), "payment.token"),
        (("payout", "/v1/creators"), "payout_method.account"),
        (("gifting", "/v1/gifts"), "stream_id"),
    ],
)
def test_a_lone_surrogate_in_any_text_is_422_naming_the_field(services, auth, target, field):
    import json

    service, path = target
    svc, client = services[service]
    body = dict(VALID[target])
    outer, _, inner = field.partition(".")
    if inner:
        body[outer] = {**body[outer], inner: "x\ud800y"}
    else:
        body[outer] = "x\ud800y"
    raw = json.dumps(body)  # ensure_ascii: the surrogate travels as the escape "\ud800", as JSON allows
    response = client.post(
        path,
        data=raw,
        headers=auth(service=service, **{"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}),
    )
    assert response.status_code == 422 and field in response.get_json()["errors"]


@pytest.mark.parametrize("target", sorted(VALID), ids=lambda t: t[1])
def test_a_field_named_twice_is_422_naming_it_and_writes_nothing(services, auth, target):
    """JSON parsers keep the last of two members of one name; a gateway reading the first would
    judge another request than this service (another sender, another amount): refused, as a query
    parameter given twice is. Its key answers that body alone: the same key with the field once is
    another request (422 idempotency-key-reused), not a replay of the refusal."""
    import json

    service = target[0]
    svc = services[service][0]
    before = {table: rows(svc, table) for table in WRITES[service]}
    valid = VALID[target]
    first = sorted(valid)[0]
    raw = json.dumps(valid)[:-1] + f", {json.dumps(first)}: {json.dumps(valid[first])}}}"  # the same value, twice
    key = str(uuid.uuid4())
    response = send(
        services, auth, target, data=raw, headers={"Content-Type": "application/json", "Idempotency-Key": key}
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {first: ["Given more than once."]}
    assert {table: rows(svc, table) for table in WRITES[service]} == before
    once = send(
        services,
        auth,
        target,
        data=json.dumps(valid),
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
    )
    assert once.get_json().get("errors") != {first: ["Given more than once."]}, once.get_json()


@pytest.mark.parametrize("depth", [33, 400, 5_000, 200_000])
@pytest.mark.parametrize("target", sorted(VALID), ids=lambda t: t[1])
def test_a_body_nested_deeper_than_the_bound_is_400_before_it_is_parsed(services, auth, target, depth):
    service = target[0]
    svc = services[service][0]
    before = {table: rows(svc, table) for table in WRITES[service]}
    nested = "[" * depth + "]" * depth
    raw = '{"user_id": "a[b{c", "extra": ' + nested + "}"  # brackets inside strings do not count
    response = send(services, auth, target, data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "body" in response.get_json()["errors"], response.get_json()
    assert {table: rows(svc, table) for table in WRITES[service]} == before


@pytest.mark.parametrize("depth", [33, 600])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
@pytest.mark.parametrize("target", sorted(VALID), ids=lambda t: t[1])
def test_a_body_in_utf16_or_utf32_is_400_however_deep(services, auth, target, encoding, depth):
    """JSON between systems is UTF-8. json.loads reads UTF-16/32 bytes as they come, and the depth
    check reads bytes as UTF-8: an escaped quote (5C 00 22 00) hid every bracket after it, so a
    body nested past the bound was parsed (422), and a few hundred levels ended in a 500."""
    service = target[0]
    svc = services[service][0]
    before = {table: rows(svc, table) for table in WRITES[service]}
    raw = ('{"user_id": "\\"", "extra": ' + "[" * depth + "]" * depth + "}").encode(encoding)
    headers = {"Content-Type": f"application/json; charset={encoding}"}
    response = send(services, auth, target, data=raw, headers=headers)
    assert response.status_code == 400 and "body" in response.get_json()["errors"], response.get_json()
    assert {table: rows(svc, table) for table in WRITES[service]} == before


def test_the_depth_check_reads_a_body_of_unterminated_strings_in_one_pass(services, auth):
    """33 brackets, then escaped quotes that never close a string: a walk that rescanned the rest of
    the body from each quote took minutes for 200 KB (an hour for the 1 MiB limit); one pass, well
    under a second. The bound is a thousand times the time it takes: a guard, not a benchmark."""
    raw = b"{" * 33 + b'\\"' * 100_000
    started = time.perf_counter()
    response = send(services, auth, ("gifting", "/v1/gifts"), data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "body" in response.get_json()["errors"]
    assert time.perf_counter() - started < 30


def test_brackets_inside_strings_do_not_count_towards_the_depth(services, auth):
    _, client = services["gifting"]
    body = {**VALID[("gifting", "/v1/gifts")], "stream_id": "[" * 100}
    response = client.post(
        "/v1/gifts", json=body, headers=auth(service="gifting", **{"Idempotency-Key": str(uuid.uuid4())})
    )
    assert response.status_code != 400, response.get_json()
