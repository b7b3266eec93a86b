"""Service-to-service bearer tokens (JWT, HS256): who is calling, and may they do this.

A token names its caller in `sub` and expires. The secret is shared by all callers, or
there is one key per caller (then the caller's own key verifies its token).
"""
from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta

import jwt

from shared.clock import utcnow
from shared.fields import ID_PATTERN
from shared.settings import AuthSettings

ALGORITHM = "HS256"


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


def issue_token(*, caller: str, secret: str, ttl_seconds: int = 3600, issuer: str = "coins-platform") -> str:
    now = utcnow()
    claims = {"sub": caller, "iss": issuer, "iat": now, "nbf": now,
              "exp": now + timedelta(seconds=ttl_seconds), "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _key_for(token: str, settings: AuthSettings) -> str:
    if settings.caller_keys:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError(401, "The bearer token is malformed.") from exc
        key = settings.caller_keys.get(str(unverified.get("sub")))
        if key:
            return key
    if settings.shared_secret:
        return settings.shared_secret
    raise AuthError(401, "The bearer token's caller has no key here.")


class VerifiedTokens:
    """Tokens this process has already verified, with their caller and validity window.

    A caller sends one token with many requests; checking its signature and claims again on
    each costs more than the rest of the request's authentication. A hit still checks expiry
    and not-before against the clock, so a cached token stops working when it expires. One
    cache per app: a token verified with one app's keys says nothing to another app's.
    """

    def __init__(self, size: int = 4096):
        self._size = size
        self._entries: OrderedDict[str, tuple[Caller, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, leeway_seconds: float) -> Caller | None:
        with self._lock:
            entry = self._entries.get(token)
        if entry is None:
            return None
        caller, not_before, expires = entry
        now = time.time()
        if now + leeway_seconds < not_before or now - leeway_seconds >= expires:
            return None  # verified again in full, which names the reason
        return caller

    def put(self, token: str, caller: Caller, claims: dict) -> None:
        not_before = float(claims.get("nbf", claims.get("iat", 0)))
        with self._lock:
            self._entries[token] = (caller, not_before, float(claims["exp"]))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def authenticate(header: str | None, settings: AuthSettings, verified: VerifiedTokens | None = None) -> Caller:
    """Verify an `Authorization: Bearer` header; 401 on anything wrong with the token itself."""
    if not header:
        raise AuthError(401, "An Authorization: Bearer token is required.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "The Authorization header must be 'Bearer <token>'.")
    token = token.strip()
    if verified is not None and (caller := verified.get(token, settings.leeway_seconds)) is not None:
        return caller
    try:
        claims = jwt.decode(token, _key_for(token, settings), algorithms=[ALGORITHM], issuer=settings.issuer,
                            leeway=settings.leeway_seconds, options={"require": ["sub", "exp", "iat", "iss"]})
    except jwt.ExpiredSignatureError as exc:
        raise AuthError(401, "The bearer token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise AuthError(401, "The bearer token is invalid.") from exc
    name = str(claims["sub"])
    if not re.fullmatch(ID_PATTERN, name):
        raise AuthError(401, "The bearer token names no valid caller.")
    caller = Caller(name=name, permissions=frozenset(settings.policy.get(name, ())))
    if verified is not None:
        verified.put(token, caller, claims)
    return caller
