"""Tokens, without I/O beyond a temporary key directory: each forgery is refused, naming the rule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coinsctl.tokens import issue_token
from shared.auth.policy import AuthSettings
from shared.auth.tokens import AuthError, KeyRing, SigningKey, TokenVerifier, generate_key_pair, load_signing_key
from shared.clock import utcnow

POLICY = {"gateway": ("gifts:send",), "live": ("gifts:send",), "processor": ("chargebacks:create",)}


@pytest.fixture
def keys(tmp_path) -> Path:
    for caller in ("gateway", "live", "processor"):
        generate_key_pair(tmp_path / "private", tmp_path / "public", caller, kid=f"{caller}-1")
    return tmp_path


def verifier(keys: Path, service: str = "gifting", retired=frozenset(), **settings) -> TokenVerifier:
    auth = AuthSettings(audience=service, keys_dir=keys / "public", retired_keys=retired, policy=POLICY, **settings)
    return TokenVerifier(auth, KeyRing(auth.keys_dir, retired=retired, reload_seconds=0))


def signer(keys: Path, caller: str, kid: str | None = None) -> SigningKey:
    return load_signing_key(keys / "private", caller, kid)


def hs256(secret: bytes, header: dict, claims: dict) -> str:
    """An HS256 token made by hand (PyJWT refuses to use a PEM as an HMAC secret)."""

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode()) + b"." + b64(json.dumps(claims).encode())
    )
    return (signing_input + b"." + b64(hmac.new(secret, signing_input, hashlib.sha256).digest())).decode()


def refused(v: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as err:
        v.authenticate(f"Bearer {token}")
    assert err.value.status == 401
    return err.value.detail


def test_a_callers_own_token_names_it_and_its_permissions(keys):
    caller = verifier(keys).authenticate("Bearer " + issue_token(signer(keys, "gateway"), audience="gifting"))
    assert caller.name == "gateway" and caller.may("gifts:send") and not caller.may("chargebacks:create")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer ", "Bearer not-a-jwt"])
def test_missing_or_malformed_tokens_are_401(keys, header):
    with pytest.raises(AuthError) as err:
        verifier(keys).authenticate(header)
    assert err.value.status == 401


def test_live_cannot_become_the_processor_by_signing_with_its_own_key_under_the_processors_kid(keys):
    live = signer(keys, "live")
    forged = issue_token(SigningKey(caller="processor", kid="processor-1", key=live.key), audience="purchase")
    assert "signature" in refused(verifier(keys, "purchase"), forged)


def test_the_right_key_cannot_vouch_for_another_callers_sub(keys):
    as_processor = issue_token(signer(keys, "live"), audience="purchase", subject="processor")
    assert "sub must name the owner" in refused(verifier(keys, "purchase"), as_processor)
    as_issuer = jwt.encode(
        {
            "iss": "processor",
            "sub": "processor",
            "aud": "purchase",
            "iat": utcnow(),
            "exp": utcnow() + timedelta(minutes=5),
            "jti": "x",
        },
        signer(keys, "live").key,
        algorithm="EdDSA",
        headers={"kid": "live-1"},
    )
    assert "iss must name the owner" in refused(verifier(keys, "purchase"), as_issuer)


def test_a_token_for_purchase_is_refused_by_payout(keys):
    token = issue_token(signer(keys, "gateway"), audience="purchase")
    assert verifier(keys, "purchase").authenticate(f"Bearer {token}").name == "gateway"
    assert "aud must be exactly 'payout'" in refused(verifier(keys, "payout"), token)


def test_one_token_for_every_service_is_refused(keys):
    everywhere = jwt.encode(
        {
            "iss": "gateway",
            "sub": "gateway",
            "aud": ["purchase", "gifting", "payout"],
            "iat": utcnow(),
            "exp": utcnow() + timedelta(minutes=5),
            "jti": "x",
        },
        signer(keys, "gateway").key,
        algorithm="EdDSA",
        headers={"kid": "gateway-1"},
    )
    assert "aud must be exactly" in refused(verifier(keys, "gifting"), everywhere)


def test_a_24_hour_token_is_refused_and_the_bound_is_configurable(keys):
    day = issue_token(signer(keys, "gateway"), audience="gifting", ttl_seconds=24 * 3600)
    assert "lifetime" in refused(verifier(keys), day)
    sixteen_minutes = issue_token(signer(keys, "gateway"), audience="gifting", ttl_seconds=16 * 60)
    assert "at most 900" in refused(verifier(keys), sixteen_minutes)
    assert verifier(keys, max_token_seconds=1800).authenticate(f"Bearer {sixteen_minutes}").name == "gateway"


def test_clock_skew_is_bounded(keys):
    later = issue_token(signer(keys, "gateway"), audience="gifting", now=utcnow() + timedelta(seconds=120))
    assert "clock skew" in refused(verifier(keys), later)
    slightly = issue_token(signer(keys, "gateway"), audience="gifting", now=utcnow() + timedelta(seconds=10))
    assert verifier(keys).authenticate(f"Bearer {slightly}").name == "gateway"
    expired = issue_token(
        signer(keys, "gateway"), audience="gifting", ttl_seconds=60, now=utcnow() - timedelta(seconds=120)
    )
    assert "expired" in refused(verifier(keys), expired)


def test_an_unknown_kid_a_missing_kid_and_a_swapped_algorithm_are_refused(keys):
    stranger = tmp_keys = keys / "elsewhere"
    generate_key_pair(tmp_keys / "private", tmp_keys / "public", "gateway", kid="gateway-9")
    unknown = issue_token(load_signing_key(stranger / "private", "gateway"), audience="gifting")
    assert "unknown here or retired" in refused(verifier(keys), unknown)
    no_kid = jwt.encode(
        {
            "iss": "gateway",
            "sub": "gateway",
            "aud": "gifting",
            "iat": utcnow(),
            "exp": utcnow() + timedelta(minutes=5),
            "jti": "x",
        },
        signer(keys, "gateway").key,
        algorithm="EdDSA",
    )
    assert "kid" in refused(verifier(keys), no_kid)
    # The classic confusion: an HMAC over the token, keyed with the (public) PEM the service holds.
    public_pem = (keys / "public" / "gateway" / "gateway-1.pem").read_bytes()
    assert "alg must be EdDSA" in refused(
        verifier(keys),
        hs256(
            public_pem,
            {"kid": "gateway-1"},
            {
                "iss": "gateway",
                "sub": "gateway",
                "aud": "gifting",
                "iat": int(time.time()),
                "exp": int(time.time()) + 300,
                "jti": "x",
            },
        ),
    )
    unsigned = jwt.encode({"iss": "gateway", "sub": "gateway"}, None, algorithm="none", headers={"kid": "gateway-1"})
    assert "alg must be EdDSA" in refused(verifier(keys), unsigned)


def test_a_user_grant_is_not_a_bearer_token(keys):
    grant = issue_token(signer(keys, "gateway"), audience="gifting", subject="gateway", authorized_party="live")
    assert "grant is not a bearer token" in refused(verifier(keys), grant)


def test_an_es256_key_works_like_an_ed25519_key(keys):
    private = ec.generate_private_key(ec.SECP256R1())
    (keys / "public" / "live" / "live-ec.pem").write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    token = issue_token(SigningKey(caller="live", kid="live-ec", key=private), audience="gifting")
    assert verifier(keys).authenticate(f"Bearer {token}").name == "live"


def test_a_second_key_works_beside_the_first_and_a_retired_key_stops_at_once(keys):
    generate_key_pair(keys / "private", keys / "public", "gateway", kid="gateway-2")
    v = verifier(keys)
    old = issue_token(signer(keys, "gateway", "gateway-1"), audience="gifting")
    new = issue_token(signer(keys, "gateway", "gateway-2"), audience="gifting")
    assert v.authenticate(f"Bearer {old}").name == v.authenticate(f"Bearer {new}").name == "gateway"
    (keys / "public" / "gateway" / "gateway-1.pem").unlink()  # retired in the key directory
    assert "unknown here or retired" in refused(v, old)  # though verified and remembered before
    assert v.authenticate(f"Bearer {new}").name == "gateway"
    by_config = verifier(keys, retired=frozenset({"gateway-2"}))
    assert "unknown here or retired" in refused(by_config, new)


# A well-formed PEM public key on a curve the cryptography library cannot load (SM2, as `openssl
# genpkey -algorithm SM2 | openssl pkey -pubout` writes it): UnsupportedAlgorithm, not ValueError.
SM2_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAEq0TTJcjFgBStoolpcPlhqP93Lzxr
fs8em4ULdFLcNt4d6QxS37WGjULQU+BdoNq759Z6dDITg9guzFpaWFMnPw==
-----END PUBLIC KEY-----
"""


def test_a_key_file_the_library_cannot_load_is_skipped_at_start_and_at_reload(keys):
    """One bad file neither stops a service starting with the good keys, nor (landing while it
    serves) fails requests with a 500 and keeps a key retired meanwhile alive."""
    (keys / "public" / "live" / "live-sm2.pem").write_bytes(SM2_PUBLIC_PEM)
    v = verifier(keys)  # at start
    gateway = issue_token(signer(keys, "gateway"), audience="gifting")
    assert v.authenticate(f"Bearer {gateway}").name == "gateway"
    (keys / "public" / "live" / "live-sm2.pem").unlink()
    v = verifier(keys)
    assert v.authenticate(f"Bearer {gateway}").name == "gateway"
    (keys / "public" / "gateway" / "gateway-1.pem").unlink()  # retired, as a bad file lands
    (keys / "public" / "live" / "live-sm2.pem").write_bytes(SM2_PUBLIC_PEM)
    assert "unknown here or retired" in refused(v, gateway)
    live = issue_token(signer(keys, "live"), audience="gifting")
    assert v.authenticate(f"Bearer {live}").name == "live"


def test_a_key_replaced_in_place_with_its_size_and_mtime_kept_is_reloaded(keys, tmp_path):
    """An Ed25519 public key file has one size: `cp -p` of another over it keeps size and mtime."""
    v = verifier(keys)
    old = issue_token(signer(keys, "gateway"), audience="gifting")
    assert v.authenticate(f"Bearer {old}").name == "gateway"
    generate_key_pair(tmp_path / "other-private", tmp_path / "other-public", "gateway", kid="gateway-1")
    public = keys / "public" / "gateway" / "gateway-1.pem"
    kept = public.stat()
    public.write_bytes((tmp_path / "other-public" / "gateway" / "gateway-1.pem").read_bytes())
    os.utime(public, ns=(kept.st_atime_ns, kept.st_mtime_ns))
    assert public.stat().st_size == kept.st_size and public.stat().st_mtime_ns == kept.st_mtime_ns
    assert "signature" in refused(v, old).lower()  # the replaced key's tokens: though remembered before
    new = issue_token(load_signing_key(tmp_path / "other-private", "gateway", "gateway-1"), audience="gifting")
    assert v.authenticate(f"Bearer {new}").name == "gateway"


def test_a_verified_token_is_remembered_only_until_it_expires(keys, monkeypatch):
    v = verifier(keys, leeway_seconds=0)
    token = issue_token(signer(keys, "gateway"), audience="gifting", ttl_seconds=60)
    assert v.authenticate(f"Bearer {token}").name == "gateway"
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: pytest.fail("a remembered token is not decoded again"))
    assert v.authenticate(f"Bearer {token}").may("gifts:send")
    monkeypatch.undo()
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert v.verified.get(token, leeway_seconds=0) is None  # past its expiry: verified in full again


@pytest.mark.parametrize("caller, kid", [("app\n", "app-1"), ("app", "app-1\n")])
def test_a_caller_or_key_id_with_a_trailing_newline_is_not_a_valid_name(tmp_path, caller, kid):
    from shared.auth.tokens import KeyFileError

    with pytest.raises(KeyFileError):
        generate_key_pair(tmp_path / "private", tmp_path / "public", caller, kid=kid)


def signed_as_is(keys: Path, claims: dict) -> str:
    """Claims signed exactly as given, with gateway's real key (PyJWT's encode would check them)."""
    payload = json.dumps(claims).encode()
    return jwt.api_jws.encode(payload, signer(keys, "gateway").key, algorithm="EdDSA", headers={"kid": "gateway-1"})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    replaced=st.dictionaries(
        st.sampled_from(["iss", "sub", "aud", "iat", "exp", "nbf", "jti", "azp", "scopes", "scope"]),
        JSON_VALUES | st.integers(-(2**80), 2**80) | st.sampled_from([10**400, -(10**400)]),
        max_size=3,
    ),
    as_text=st.booleans(),
)
def test_a_validly_signed_token_with_hostile_claims_is_401_naming_a_claim_or_accepted_never_a_crash(
    keys, replaced, as_text
):
    now = int(time.time())
    claims = {"iss": "gateway", "sub": "gateway", "aud": "gifting", "iat": now, "exp": now + 300, "jti": "j"}
    claims.update({k: (str(v) if as_text and k in ("iat", "exp", "nbf") else v) for k, v in replaced.items()})
    token = signed_as_is(keys, claims)
    try:
        verifier(keys).authenticate(f"Bearer {token}")
    except AuthError as err:
        # Only a replaced claim can be wrong: the refusal names one of them.
        assert err.status == 401 and any(name in err.detail for name in replaced), (replaced, err.detail)


@pytest.mark.parametrize("claim", ["sub", "aud", "exp", "jti", "azp"])
def test_a_grants_limits_cannot_set_the_tokens_own_claims(keys, claim):
    with pytest.raises(ValueError, match=claim):
        issue_token(signer(keys, "gateway"), audience="gifting", subject="ann", limits={claim: "x", "max_coins": 5})


@pytest.mark.parametrize(("claim", "value"), [("nbf", -(10**400)), ("iat", -(10**400)), ("exp", 10**400)])
def test_a_date_past_any_float_is_refused_naming_the_claim_not_a_crash(keys, claim, value):
    now = int(time.time())
    claims = {"iss": "gateway", "sub": "gateway", "aud": "gifting", "iat": now, "exp": now + 300, "jti": "j"}
    claims[claim] = value
    assert f"{claim} must be a NumericDate" in refused(verifier(keys), signed_as_is(keys, claims))


@pytest.mark.parametrize("claim", ["iat", "exp", "nbf"])
def test_a_numeric_string_date_is_refused_naming_the_claim(keys, claim):
    now = int(time.time())
    claims = {"iss": "gateway", "sub": "gateway", "aud": "gifting", "iat": now, "exp": now + 300, "jti": "j"}
    claims[claim] = str(claims.get(claim, now))
    token = signed_as_is(keys, claims)
    assert f"{claim} must be a NumericDate" in refused(verifier(keys), token)


@pytest.mark.parametrize(
    "bad_file",
    [
        ("gateway", "broken.pem", b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"),
        ("gateway", "empty.pem", b""),
        ("gateway", "bad kid!.pem", None),  # a copy of a good key under a name that is not a kid
        ("not a caller", "x-1.pem", None),
    ],
)
def test_one_unusable_key_file_is_skipped_loudly_and_retirement_still_takes_effect(keys, bad_file, caplog):
    from shared.observability.metrics import KEY_FILES_REJECTED

    generate_key_pair(keys / "private", keys / "public", "gateway", kid="gateway-2")
    v = verifier(keys)
    old = issue_token(signer(keys, "gateway", "gateway-1"), audience="gifting")
    new = issue_token(signer(keys, "gateway", "gateway-2"), audience="gifting")
    assert v.authenticate(f"Bearer {old}").name == "gateway"
    caller, name, content = bad_file
    (keys / "public" / caller).mkdir(exist_ok=True)
    good = (keys / "public" / "gateway" / "gateway-2.pem").read_bytes()
    (keys / "public" / caller / name).write_bytes(good if content is None else content)
    before = sum(s.value for m in KEY_FILES_REJECTED.collect() for s in m.samples if s.name.endswith("_total"))
    (keys / "public" / "gateway" / "gateway-1.pem").unlink()  # retired while a bad file sits beside it
    assert "unknown here or retired" in refused(v, old)
    assert v.authenticate(f"Bearer {new}").name == "gateway"  # every good key still loads
    assert verifier(keys).authenticate(f"Bearer {new}").name == "gateway"  # and a restarting process boots
    after = sum(s.value for m in KEY_FILES_REJECTED.collect() for s in m.samples if s.name.endswith("_total"))
    assert after > before and "public key file skipped" in caplog.text


def test_a_kid_under_two_callers_is_refused_for_both_even_once_remembered(keys):
    v = verifier(keys)
    token = issue_token(signer(keys, "gateway"), audience="gifting")
    assert v.authenticate(f"Bearer {token}").name == "gateway"
    (keys / "public" / "live" / "gateway-1.pem").write_bytes((keys / "public" / "live" / "live-1.pem").read_bytes())
    assert "unknown here or retired" in refused(v, token)
    (keys / "public" / "gateway" / "gateway-1.pem").unlink()  # now live's file alone holds the kid
    assert "signature" in refused(v, token)  # the remembered verification was for another key


def test_a_key_directory_that_cannot_be_read_refuses_every_token(keys, monkeypatch):
    v = verifier(keys)
    token = issue_token(signer(keys, "gateway"), audience="gifting")
    assert v.authenticate(f"Bearer {token}").name == "gateway"
    monkeypatch.setattr(Path, "iterdir", lambda self: (_ for _ in ()).throw(PermissionError(13, "denied")))
    assert "unknown here or retired" in refused(v, token)


@pytest.mark.parametrize("argument", ["*", "gateway-*", "../private/gateway/gateway-1", "gateway-1.pem", ""])
def test_keys_retire_takes_exactly_one_kid_never_a_pattern_or_a_path(keys, monkeypatch, argument):
    from click.testing import CliRunner

    from coinsctl.cli import main

    (keys / "var").mkdir()
    (keys / "var" / "keys").symlink_to(keys)
    monkeypatch.setenv("COINS_VAR_DIR", str(keys / "var"))
    result = CliRunner().invoke(main, ["keys", "retire", argument])
    assert result.exit_code != 0
    assert (keys / "public" / "gateway" / "gateway-1.pem").exists() and (keys / "private" / "gateway").exists()
    assert CliRunner().invoke(main, ["keys", "retire", "gateway-1"]).exit_code == 0
    assert not (keys / "public" / "gateway" / "gateway-1.pem").exists()
    assert (keys / "private" / "gateway" / "gateway-1.pem.retired").exists()  # set aside, not signed with


def test_after_retiring_a_callers_newest_key_its_tokens_are_signed_with_the_one_still_live(keys, monkeypatch):
    """The CLI signed with the newest private key, retired or not: every token it made was refused."""
    from click.testing import CliRunner

    from coinsctl.cli import main

    generate_key_pair(keys / "private", keys / "public", "gateway", kid="gateway-2")
    (keys / "var").mkdir()
    (keys / "var" / "keys").symlink_to(keys)
    monkeypatch.setenv("COINS_VAR_DIR", str(keys / "var"))
    assert CliRunner().invoke(main, ["keys", "retire", "gateway-2"]).exit_code == 0
    minted = CliRunner().invoke(main, ["token", "--service", "gifting"])
    assert minted.exit_code == 0 and verifier(keys).authenticate(f"Bearer {minted.output.strip()}").name == "gateway"
