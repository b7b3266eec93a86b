"""The shared edge, without I/O: tokens, envelopes, problem documents."""
import time
from datetime import timedelta

import jwt
import pytest
from marshmallow import ValidationError

from shared.auth import AuthError, VerifiedTokens, authenticate, issue_token
from shared.clock import utcnow
from shared.contracts import GIFT_SENT, envelope_to_dict, new_event, parse_envelope
from shared.errors import validation_problem
from shared.settings import AuthSettings

SETTINGS = AuthSettings(shared_secret="s" * 40, policy={"gateway": ("gifts:send",)})


def test_a_valid_token_names_its_caller_and_permissions():
    caller = authenticate("Bearer " + issue_token(caller="gateway", secret="s" * 40), SETTINGS)
    assert caller.name == "gateway" and caller.may("gifts:send") and not caller.may("chargebacks:create")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer not-a-jwt"])
def test_missing_or_malformed_tokens_are_401(header):
    with pytest.raises(AuthError) as err:
        authenticate(header, SETTINGS)
    assert err.value.status == 401


def test_forged_and_expired_tokens_are_401():
    forged = issue_token(caller="gateway", secret="t" * 40)
    now = utcnow()
    expired = jwt.encode({"sub": "gateway", "iss": "coins-platform", "iat": now - timedelta(hours=2),
                          "exp": now - timedelta(hours=1)}, "s" * 40, algorithm="HS256")
    unsigned = jwt.encode({"sub": "gateway", "iss": "coins-platform", "iat": now,
                           "exp": now + timedelta(hours=1)}, None, algorithm="none")
    for token in (forged, expired, unsigned):
        with pytest.raises(AuthError):
            authenticate(f"Bearer {token}", SETTINGS)


def test_a_key_per_caller_verifies_only_that_callers_tokens():
    settings = AuthSettings(shared_secret=None, caller_keys={"live": "k" * 40, "app": "a" * 40})
    assert authenticate("Bearer " + issue_token(caller="live", secret="k" * 40), settings).name == "live"
    with pytest.raises(AuthError):
        authenticate("Bearer " + issue_token(caller="live", secret="a" * 40), settings)


def test_a_verified_token_is_remembered_only_until_it_expires(monkeypatch):
    settings = AuthSettings(shared_secret="s" * 40, policy={"gateway": ("gifts:send",)}, leeway_seconds=0)
    verified = VerifiedTokens()
    token = issue_token(caller="gateway", secret="s" * 40, ttl_seconds=60)
    assert authenticate(f"Bearer {token}", settings, verified).name == "gateway"
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: pytest.fail("a remembered token is not decoded again"))
    assert authenticate(f"Bearer {token}", settings, verified).may("gifts:send")
    monkeypatch.undo()
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert verified.get(token, leeway_seconds=0) is None  # past its expiry: verified in full again


def test_a_token_verified_by_one_app_is_not_trusted_by_another():
    theirs = AuthSettings(shared_secret="t" * 40)
    token = issue_token(caller="gateway", secret="t" * 40)
    assert authenticate(f"Bearer {token}", theirs, VerifiedTokens()).name == "gateway"
    with pytest.raises(AuthError):
        authenticate(f"Bearer {token}", SETTINGS, VerifiedTokens())


def test_an_event_round_trips_through_its_envelope():
    data = {"gift_tx_id": "g1", "sender_id": "v", "creator_id": "c", "gift_id": "rose", "quantity": 2,
            "coins": 2, "diamonds": 2, "stream_id": None, "sent_at": utcnow()}
    envelope, key = new_event(GIFT_SENT, source="gifting", data=data)
    assert key == "c"
    parsed, loaded = parse_envelope(envelope_to_dict(envelope))
    assert parsed.event_id == envelope.event_id and loaded["coins"] == 2


def test_an_event_that_breaks_its_contract_is_refused():
    envelope, _ = new_event(GIFT_SENT, source="gifting", data={
        "gift_tx_id": "g1", "sender_id": "v", "creator_id": "c", "gift_id": "rose", "quantity": 1, "coins": 1,
        "diamonds": 1, "sent_at": utcnow()})
    raw = envelope_to_dict(envelope)
    raw["data"]["coins"] = 1.5
    with pytest.raises(ValidationError):
        parse_envelope(raw)
    with pytest.raises(ValidationError):
        parse_envelope({**raw, "type": "gift.stolen"})


def test_nested_field_errors_are_named_with_dots():
    problem = validation_problem({"payment": {"token": ["Missing data for required field."]}})
    assert problem.status == 422 and problem.errors == {"payment.token": ["Missing data for required field."]}
