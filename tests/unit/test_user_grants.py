"""The rules of a user grant (shared.auth.onbehalf), without a database: who may act for whom, what a
grant covers, how its claims are typed, and that no grant refusal is kept by an Idempotency-Key."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coinsctl.tokens import issue_token
from shared.auth.onbehalf import GRANT_REFUSALS, UserGrant, check_acting_for
from shared.auth.tokens import Caller
from shared.errors import Problem
from shared.idempotency import keeps
from tests.unit.test_auth_tokens import keys, signer, verifier  # noqa: F401 - the keys fixture

POLICY = {"gateway": ("users:any", "gifts:send"), "live": ("gifts:send",)}
LIVE = Caller("live", frozenset({"gifts:send"}))
GATEWAY = Caller("gateway", frozenset({"users:any", "gifts:send"}))


@pytest.fixture
def v(keys):  # noqa: F811
    found = verifier(keys)
    found.settings = type(found.settings)(**{**vars(found.settings), "policy": POLICY})
    return found


def grant(keys, **limits) -> str:  # noqa: F811
    return issue_token(
        signer(keys, "gateway"), audience="gifting", subject="ann", authorized_party="live", limits=limits
    )


def refusal(call) -> tuple[str, dict | None]:
    with pytest.raises(Problem) as err:
        call()
    assert err.value.status == 403
    return err.value.code, err.value.errors


def test_a_caller_acting_for_any_user_needs_no_grant_and_others_need_one(keys, v):  # noqa: F811
    assert check_acting_for(GATEWAY, "ann", None, v) is None
    assert refusal(lambda: check_acting_for(LIVE, "ann", None, v))[0] == "grant-required"
    verified = check_acting_for(LIVE, "ann", grant(keys, max_coins=5, creator_id="cara"), v)
    assert (verified.issuer, verified.user_id, verified.caller) == ("gateway", "ann", "live")
    assert verified.limits == {"max_coins": 5, "creator_id": "cara"}
    assert verified.expires_at > datetime.now(UTC)


def test_a_route_that_takes_no_grant_refuses_every_grant_and_every_caller_but_users_any(keys, v):  # noqa: F811
    assert check_acting_for(GATEWAY, "ann", None, v, takes_grants=False) is None
    assert refusal(lambda: check_acting_for(LIVE, "ann", None, v, takes_grants=False))[0] == "grant-scope"
    token = grant(keys, max_coins=5)
    assert refusal(lambda: check_acting_for(GATEWAY, "ann", token, v, takes_grants=False))[0] == "grant-scope"


def test_a_grant_for_another_user_or_caller_or_from_an_issuer_that_cannot_vouch_is_refused(keys, v):  # noqa: F811
    token = grant(keys, max_coins=5)
    assert refusal(lambda: check_acting_for(LIVE, "bob", token, v)) == ("grant-scope", {"X-User-Grant.sub": [_d()]})
    assert refusal(lambda: check_acting_for(GATEWAY, "ann", token, v))[0] == "grant-scope"  # azp is live
    self_made = issue_token(signer(keys, "live"), audience="gifting", subject="ann", authorized_party="live")
    assert refusal(lambda: check_acting_for(LIVE, "ann", self_made, v))[0] == "grant-invalid"
    bearer = issue_token(signer(keys, "gateway"), audience="gifting", subject="ann")  # no azp
    assert refusal(lambda: check_acting_for(LIVE, "ann", bearer, v))[0] == "grant-invalid"
    assert refusal(lambda: check_acting_for(LIVE, "ann", "", v))[0] == "grant-invalid"


def _d() -> str:
    return "The user grant is for another user (sub)."


@pytest.mark.parametrize(
    "claim, value",
    [("max_coins", "5"), ("max_coins", 5.0), ("max_coins", False), ("max_coins", 0), ("max_coins", 2**53 + 1)]
    + [("max_amount_minor", {"a": 1}), ("creator_id", 5), ("creator_id", ""), ("jti", "x" * 129)],
)
def test_each_claim_has_its_type_and_a_wrong_one_is_named(keys, v, claim, value):  # noqa: F811
    now = int(time.time())
    signing = signer(keys, "gateway")
    claims = {"iss": "gateway", "sub": "ann", "aud": "gifting", "azp": "live", "iat": now, "exp": now + 60}
    token = jwt.encode(
        {**claims, "jti": uuid.uuid4().hex, claim: value},
        signing.key,
        algorithm=signing.algorithm,
        headers={"kid": signing.kid},
    )
    code, errors = refusal(lambda: check_acting_for(LIVE, "ann", token, v))
    assert code == "grant-invalid" and list(errors) == [f"X-User-Grant.{claim}"]


def test_a_grant_covers_at_most_its_amount_and_only_the_party_it_names():
    bounded = UserGrant("gateway", "j", "ann", "live", datetime.now(UTC), {"max_coins": 10, "creator_id": "cara"})
    bounded.allows_at_most("max_coins", 10)
    bounded.allows_party("creator_id", "cara")
    assert refusal(lambda: bounded.allows_at_most("max_coins", 11))[0] == "grant-exceeded"
    assert refusal(lambda: bounded.allows_at_most("max_amount_minor", 1))[0] == "grant-scope"
    assert refusal(lambda: bounded.allows_party("creator_id", "carl"))[0] == "grant-scope"
    open_party = UserGrant("gateway", "j", "ann", "live", datetime.now(UTC), {"max_coins": 10})
    open_party.allows_party("creator_id", "anyone")


def test_no_grant_refusal_is_kept_by_an_idempotency_key():
    assert not any(keeps(403, code) for code in GRANT_REFUSALS)
    assert keeps(403, "forbidden")  # a caller without the permission: the request's own rule


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claims=st.dictionaries(st.sampled_from(["max_coins", "max_amount_minor", "creator_id", "jti", "sub"]), JSON))
def test_whatever_a_signed_grant_claims_it_is_verified_or_refused_with_403_never_an_exception(keys, v, claims):  # noqa: F811
    now = int(time.time())
    signing = signer(keys, "gateway")
    base = {"iss": "gateway", "sub": "ann", "aud": "gifting", "azp": "live", "iat": now, "exp": now + 60}
    token = jwt.encode(
        {**base, "jti": uuid.uuid4().hex, **claims},
        signing.key,
        algorithm=signing.algorithm,
        headers={"kid": signing.kid},
    )
    try:
        verified = check_acting_for(LIVE, "ann", token, v)
    except Problem as refused_:
        assert refused_.status == 403 and refused_.code in GRANT_REFUSALS
        return
    for name in ("max_coins", "max_amount_minor"):
        if name in verified.limits:
            verified.allows_at_most(name, 1)  # an int limit of at least 1: compared without error


@pytest.mark.parametrize("user", ["", "  "])
def test_a_grant_for_no_user_is_refused_never_minted_for_its_issuer(tmp_path, monkeypatch, keys, user):  # noqa: F811
    """An empty `sub` fell back to the signing caller: a grant to act for the gateway itself."""
    from click.testing import CliRunner

    from coinsctl.cli import main
    from coinsctl.keys import ensure_local_keys

    monkeypatch.setenv("COINS_VAR_DIR", str(tmp_path))
    ensure_local_keys(tmp_path)
    asked = ["token", "--service", "gifting", "--grant-for", user, "--to", "live", "--max-coins", "500"]
    done = CliRunner().invoke(main, asked)
    assert done.exit_code == 2 and "--grant-for" in done.output, done.output
    with pytest.raises(ValueError, match="not an empty one"):
        issue_token(signer(keys, "gateway"), audience="gifting", subject=user, authorized_party="live")
