"""Minting tokens, on the caller's side: only a holder of a caller's private key can do it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta

import jwt

from shared.auth.tokens import SigningKey
from shared.clock import utcnow

DEFAULT_TTL_SECONDS = 300


def issue_token(
    signing: SigningKey,
    *,
    audience: str,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    subject: str | None = None,
    authorized_party: str | None = None,
    limits: Mapping[str, object] | None = None,
    now=None,
) -> str:
    """A token from `signing.caller` for one service. `subject` and `authorized_party` make a
    user grant instead (shared.auth.onbehalf): the user it vouches for, and the caller it is for;
    `limits` what it allows (e.g. {"max_coins": 500, "creator_id": "cara"}). A grant is good
    for one call."""
    if subject is not None and not subject.strip():
        raise ValueError("a user grant names its user (sub): not an empty one")
    now = now or utcnow()
    claims = {
        "iss": signing.caller,
        "sub": signing.caller if subject is None else subject,
        "aud": audience,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    if authorized_party is not None:
        claims["azp"] = authorized_party
    overriding = sorted((limits or {}).keys() & (claims.keys() | {"azp", "nbf"}))
    if overriding:  # a limit must not quietly make the token another's (sub, aud) or longer-lived (exp)
        raise ValueError(f"limits may not set the token's own claims: {', '.join(overriding)}")
    claims.update(limits or {})
    return jwt.encode(claims, signing.key, algorithm=signing.algorithm, headers={"kid": signing.kid})
