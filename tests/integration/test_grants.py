"""User grants bound to one call (shared.auth.onbehalf): spent once with the gift they pay for, across
processes and races; covering only what they name; their claims typed; a retry of the same
request replaying its answer."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import jwt
import pytest

from coinsctl.tokens import issue_token
from services.gifting.adapters.orm import tables, wallets
from shared.clock import utcnow
from shared.observability import metrics
from tests.integration.conftest import build_service, rows
from tests.integration.test_gifting_api import fund

pytestmark = pytest.mark.integration


def grant(caller_keys, *, user="ann", party="live", issuer="gateway", **limits) -> str:
    limits = {"max_coins": 100, **limits}
    return issue_token(
        caller_keys.signing_key(issuer), audience="gifting", subject=user, authorized_party=party, limits=limits
    )


def hand_made_grant(caller_keys, **claims) -> str:
    """A grant signed by the gateway with any claims at all (types included)."""
    now = int(time.time())
    signing = caller_keys.signing_key("gateway")
    body = {
        "iss": "gateway",
        "sub": "ann",
        "aud": "gifting",
        "azp": "live",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "max_coins": 100,
        **claims,
    }
    return jwt.encode(body, signing.key, algorithm=signing.algorithm, headers={"kid": signing.kid})


def gift(client, caller_keys, token: str | None, *, key: str | None = None, caller="live", **body):
    headers = caller_keys.headers(caller, service="gifting", **{"Idempotency-Key": key or str(uuid.uuid4())})
    if token is not None:
        headers["X-User-Grant"] = token
    payload = {"sender_id": "ann", "creator_id": "cara", "gift_id": "rose", "quantity": 1, **body}
    return client.post("/v1/gifts", headers=headers, json=payload)


def problem_code(response) -> str:
    assert response.content_type == "application/problem+json", response.get_data(as_text=True)
    return response.get_json()["type"].rsplit("/", 1)[-1]


def balance(svc) -> int:
    with svc.engine.connect() as conn:
        return conn.execute(wallets.select().where(wallets.c.user_id == "ann")).one().balance_coins


@pytest.fixture(params=["postgres", "sqlite"])
def two_apps(request, pg_url, tmp_path):
    """Two gifting apps (as two processes would be) on one database."""
    url = pg_url("gifting") if request.param == "postgres" else f"sqlite:///{tmp_path}/gifting.db"
    first, second = build_service("gifting", url), build_service("gifting", url)
    yield first, second
    first[0].engine.dispose()
    second[0].engine.dispose()


def test_a_grant_pays_for_one_gift_across_processes_and_a_retry_replays_its_answer(two_apps, caller_keys):
    (svc, a), (_, b) = two_apps
    fund(svc, "ann", 50)
    token, key = grant(caller_keys), str(uuid.uuid4())
    sent = gift(a, caller_keys, token, key=key)
    assert sent.status_code == 201, sent.get_data(as_text=True)
    refused = metrics.HTTP_REFUSALS.labels("gifting", "403", "grant-replayed")
    before = refused._value.get()
    replayed = gift(b, caller_keys, token)  # another request (another key) with the same grant
    assert replayed.status_code == 403 and problem_code(replayed) == "grant-replayed"
    assert refused._value.get() == before + 1  # counted for the CoinsUserGrantsReplayed alert
    assert replayed.get_json()["errors"] == {"X-User-Grant.jti": [replayed.get_json()["detail"]]}
    again = gift(b, caller_keys, token, key=key)  # the client's retry of the first request
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == sent.get_json()
    assert (rows(svc, "gifts"), rows(svc, "used_grants"), balance(svc)) == (1, 1, 49)


def test_racing_replays_of_one_grant_make_one_gift(two_apps, caller_keys):
    (svc, a), (second, b) = two_apps
    fund(svc, "ann", 50)
    token = grant(caller_keys)
    clients = [a.application.test_client() if i % 2 else b.application.test_client() for i in range(8)]
    start = threading.Barrier(len(clients))
    answers = []

    def send(client):
        start.wait()
        answers.append(gift(client, caller_keys, token))

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [403] * 7, [answer.get_data(as_text=True) for answer in answers]
    assert {problem_code(answer) for answer in answers if answer.status_code == 403} == {"grant-replayed"}
    assert (rows(svc, "gifts"), rows(svc, "used_grants"), balance(svc)) == (1, 1, 49)


@pytest.fixture(params=["postgres", "sqlite"])
def gifting(request, make_service):
    return make_service("gifting", backend=request.param)


def test_a_grant_covers_only_the_coins_and_the_creator_it_names_and_a_refusal_does_not_spend_it(gifting, caller_keys):
    svc, client = gifting
    fund(svc, "ann", 500)
    token = grant(caller_keys, max_coins=5, creator_id="cara")
    oversized = gift(client, caller_keys, token, quantity=6)  # 6 roses: 6 coins
    assert oversized.status_code == 403 and problem_code(oversized) == "grant-exceeded"
    assert "X-User-Grant.max_coins" in oversized.get_json()["errors"]
    other_creator = gift(client, caller_keys, token, creator_id="carl")
    assert other_creator.status_code == 403 and problem_code(other_creator) == "grant-scope"
    assert "X-User-Grant.creator_id" in other_creator.get_json()["errors"]
    assert (rows(svc, "gifts"), rows(svc, "used_grants"), balance(svc)) == (0, 0, 500)
    assert gift(client, caller_keys, token, quantity=5).status_code == 201  # within it: spent now
    assert gift(client, caller_keys, token, quantity=1).status_code == 403


def test_a_grant_naming_no_coins_allows_no_gift(gifting, caller_keys):
    svc, client = gifting
    fund(svc, "ann", 10)
    token = issue_token(caller_keys.signing_key("gateway"), audience="gifting", subject="ann", authorized_party="live")
    refused = gift(client, caller_keys, token)
    assert refused.status_code == 403 and problem_code(refused) == "grant-scope"
    assert "X-User-Grant.max_coins" in refused.get_json()["errors"]


def test_a_refusal_by_the_wallet_leaves_the_grant_and_the_key_for_the_same_request(gifting, caller_keys):
    svc, client = gifting
    token, key = grant(caller_keys), str(uuid.uuid4())
    assert gift(client, caller_keys, token, key=key).status_code == 409  # no coins yet
    fund(svc, "ann", 10)
    assert gift(client, caller_keys, token, key=key).status_code == 201
    assert (rows(svc, "used_grants"), balance(svc)) == (1, 9)


def test_a_refused_grant_is_not_kept_by_the_key_so_the_same_request_with_a_good_grant_goes_through(
    gifting, caller_keys
):
    svc, client = gifting
    fund(svc, "ann", 10)
    key = str(uuid.uuid4())
    too_small = grant(caller_keys, max_coins=1)
    assert gift(client, caller_keys, too_small, key=key, quantity=2).status_code == 403
    sent = gift(client, caller_keys, grant(caller_keys, max_coins=2), key=key, quantity=2)
    assert sent.status_code == 201 and "Idempotent-Replayed" not in sent.headers
    assert balance(svc) == 8


@pytest.mark.parametrize(
    "claims, named",
    [
        ({"max_coins": "100"}, "max_coins"),
        ({"max_coins": 100.0}, "max_coins"),
        ({"max_coins": True}, "max_coins"),
        ({"max_coins": 0}, "max_coins"),
        ({"max_coins": -5}, "max_coins"),
        ({"max_coins": 2**64}, "max_coins"),
        ({"max_coins": [100]}, "max_coins"),
        ({"max_coins": None}, "max_coins"),
        ({"creator_id": 7}, "creator_id"),
        ({"creator_id": ""}, "creator_id"),
        ({"creator_id": "c" * 65}, "creator_id"),
        ({"jti": "j" * 129}, "jti"),
        ({"jti": "a\u0000b"}, "jti"),
        ({"jti": "a\ud800b"}, "jti"),
    ],
)
def test_every_claim_of_a_grant_is_typed_and_a_wrong_one_is_403_naming_it(make_service, caller_keys, claims, named):
    svc, client = make_service("gifting", backend="postgres")
    fund(svc, "ann", 500)
    refused = gift(client, caller_keys, hand_made_grant(caller_keys, **claims))
    assert refused.status_code == 403, refused.get_data(as_text=True)
    assert problem_code(refused) == "grant-invalid"
    assert f"X-User-Grant.{named}" in refused.get_json()["errors"]
    assert (rows(svc, "gifts"), rows(svc, "used_grants")) == (0, 0)


@pytest.mark.parametrize(
    "claims",
    [
        {"jti": 12345},
        {"jti": ""},
        {"exp": "9999999999"},
        {"iat": "0"},
        {"sub": ["ann"]},
        {"azp": {"x": 1}},
    ],
)
def test_a_grant_whose_registered_claims_have_the_wrong_type_is_403(make_service, caller_keys, claims):
    svc, client = make_service("gifting", backend="sqlite")
    fund(svc, "ann", 500)
    refused = gift(client, caller_keys, hand_made_grant(caller_keys, **claims))
    assert refused.status_code == 403 and problem_code(refused) == "grant-invalid", refused.get_data(as_text=True)


def test_the_gateway_may_send_a_grant_and_it_is_held_to_the_same_rules(make_service, caller_keys):
    svc, client = make_service("gifting", backend="postgres")
    fund(svc, "ann", 10)
    token = grant(caller_keys, party="gateway", max_coins=1)
    assert gift(client, caller_keys, None, caller="gateway").status_code == 201  # no grant: it vouches itself
    assert gift(client, caller_keys, token, caller="gateway", quantity=2).status_code == 403
    assert gift(client, caller_keys, token, caller="gateway").status_code == 201
    assert gift(client, caller_keys, token, caller="gateway").status_code == 403


def test_spent_grants_are_pruned_after_they_expire(make_service, caller_keys):
    from shared.db.retention import Windows, prune

    svc, client = make_service("gifting", backend="postgres")
    fund(svc, "ann", 10)
    assert gift(client, caller_keys, grant(caller_keys)).status_code == 201
    assert prune(svc.engine, tables, Windows(), now=utcnow()).used_grants == 0  # still valid: kept
    later = utcnow() + timedelta(hours=1)
    assert prune(svc.engine, tables, Windows(), now=later).used_grants == 1
    assert rows(svc, "used_grants") == 0
