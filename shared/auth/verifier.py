"""Service-to-service bearer tokens: who is calling, held to tight claims, and may they do this.

Each caller signs its own tokens with its own private key (EdDSA or ES256), named by `kid`; a
service holds only public keys (shared.auth.keys) and so can verify but never mint. A token is good
for one service (`aud`), for a bounded lifetime (`exp - iat`), and only for the key's owner
(`iss` and `sub` both name it). Every refusal is a 401 that names the rule, never a key.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import jwt

from shared.auth.keys import KeyRing, PublicKey
from shared.auth.policy import AuthSettings

# A user grant (shared.auth.onbehalf) carries `azp`, the caller it was issued to; a bearer token never does.
GRANT_PARTY = "azp"
REQUIRED = ["iss", "sub", "aud", "iat", "exp", "jti"]


class AuthError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Caller:
    name: str
    permissions: frozenset[str]

    def may(self, permission: str) -> bool:
        return permission in self.permissions or "*" in self.permissions


def _refused(detail: str) -> AuthError:
    return AuthError(401, detail)


NUMERIC_DATES = ("iat", "exp", "nbf")
STRINGS = ("iss", "sub", "jti", GRANT_PARTY)  # aud: checked against this service by name


def _check_claim_types(claims: dict) -> None:
    """Every claim the code reads has the type it is read as (RFC 7519: NumericDate is a JSON
    number; PyJWT lets a numeric string through), refused with 401 naming the claim."""
    for name in NUMERIC_DATES:
        value = claims.get(name)
        numeric = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if name in claims and not numeric:
            raise _refused(f"The token's {name} must be a NumericDate (a JSON number of seconds).")
    for name in STRINGS:
        if name in claims and (not isinstance(claims[name], str) or not claims[name]):
            raise _refused(f"The token's {name} must be a non-empty string.")


def _unverified_claims(token: str) -> dict:
    """The claims as sent, to word a refusal only: never trusted."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


class TokenVerifier:
    """Verifies tokens for one service against its key ring, its audience and its policy."""

    def __init__(self, settings: AuthSettings, keyring: KeyRing | None, cache_size: int = 4096):
        self.settings = settings
        self.keyring = keyring
        self.verified = VerifiedTokens(cache_size)

    def verify(self, token: str) -> tuple[dict, PublicKey]:
        """The claims of a token signed by a known, live key, meant for this service, within its
        lifetime bounds, issued by the key's owner."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused("The bearer token is malformed.") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refused("The token's header must name its signing key (kid).")
        key = self.keyring.get(kid) if self.keyring is not None else None
        if key is None:
            raise _refused("The token's signing key (kid) is unknown here or retired.")
        if header.get("alg") != key.algorithm:
            raise _refused(f"The token's alg must be {key.algorithm}, the algorithm of its signing key.")
        claims = self._decode(token, key)
        _check_claim_types(claims)
        if claims["aud"] != self.settings.audience:
            raise _refused(f"The token's aud must be exactly {self.settings.audience!r}, this service.")
        lifetime = claims["exp"] - claims["iat"]
        if lifetime > self.settings.max_token_seconds:
            raise _refused(f"The token's lifetime (exp - iat) may be at most {self.settings.max_token_seconds} s.")
        return claims, key

    def _decode(self, token: str, key: PublicKey) -> dict:
        leeway = self.settings.leeway_seconds
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self.settings.audience,
                issuer=key.owner,
                leeway=leeway,
                options={"require": REQUIRED},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _refused("The token has expired (exp).") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _refused(f"The token's iat or nbf is more than {leeway} s in the future (clock skew).") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _refused(f"The token lacks the {exc.claim!r} claim.") from exc
        except jwt.InvalidAudienceError as exc:
            raise _refused(f"The token's aud must be exactly {self.settings.audience!r}, this service.") from exc
        except jwt.InvalidIssuerError as exc:
            raise _refused("The token's iss must name the owner of its signing key.") from exc
        except jwt.InvalidSignatureError as exc:
            raise _refused("The token's signature does not verify with the key it names.") from exc
        except jwt.PyJWTError as exc:
            # PyJWT checks some claim types itself (sub, jti, iat, exp, nbf) and says so in its
            # own words: the refusal names the claim as ours do.
            _check_claim_types(_unverified_claims(token))
            raise _refused(f"The token is invalid: {type(exc).__name__}.") from exc

    def authenticate(self, header: str | None) -> Caller:
        """Verify an `Authorization: Bearer` header; 401 on anything wrong with the token itself."""
        if not header:
            raise _refused("An Authorization: Bearer token is required.")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _refused("The Authorization header must be 'Bearer <token>'.")
        cached = self.verified.get(token, self.settings.leeway_seconds)
        if cached is not None and self.keyring.get(cached[1].kid) == cached[1]:  # a retired key's tokens stop at once
            return cached[0]
        claims, key = self.verify(token)
        if GRANT_PARTY in claims:
            raise _refused("A user grant is not a bearer token (it carries azp).")
        if claims["sub"] != key.owner:
            raise _refused("The token's sub must name the owner of its signing key.")
        caller = Caller(name=key.owner, permissions=frozenset(self.settings.policy.get(key.owner, ())))
        self.verified.put(token, caller, key, claims)
        return caller


class VerifiedTokens:
    """Tokens this process has already verified, with their caller, key and validity window.

    A caller sends one token with many requests; checking its signature and claims again on
    each costs more than the rest of the request's authentication. A hit still checks expiry
    and not-before against the clock (and the caller checks the key is still live), so a cached
    token stops working when it expires or its key is retired.
    """

    def __init__(self, size: int = 4096):
        self._size = size
        self._entries: OrderedDict[str, tuple[Caller, PublicKey, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, leeway_seconds: float) -> tuple[Caller, PublicKey] | None:
        with self._lock:
            entry = self._entries.get(token)
        if entry is None:
            return None
        caller, key, not_before, expires = entry
        now = time.time()
        if now + leeway_seconds < not_before or now - leeway_seconds >= expires:
            return None  # verified again in full, which names the reason
        return caller, key

    def put(self, token: str, caller: Caller, key: PublicKey, claims: dict) -> None:
        not_before = float(claims.get("nbf", claims["iat"]))
        with self._lock:
            self._entries[token] = (caller, key, not_before, float(claims["exp"]))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
