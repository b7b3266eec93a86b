"""Act-on-behalf rules: whose money a caller may move. A view names the user it acts for.

- A caller holding `users:any` on a service acts for any user there: the gateway, which
  authenticates end users itself.
- Any other caller acts for a user only with a user grant in the `X-User-Grant` header: a token
  signed by a caller that holds `users:any` here, whose `sub` is that user, `azp` this caller and
  `aud` this service, as short-lived as any token.
- A grant is bound to one call: it names what it allows (`UserGrant.allows_at_most`, e.g.
  `max_coins` for a gift, and optionally the counterparty, e.g. `creator_id`), and it is spent
  once: its (`iss`, `jti`) is recorded in the service's `used_grants` table
  (shared.db.tables.record_used_grant; `replayed` if it was there) in the transaction of
  the effect it authorises (a primary key, so a replay is refused even across processes and
  while two replays race). A request refused for any reason writes nothing, so it does not
  spend the grant. A grant sent by a `users:any` caller is held to the same rules.
- Every refusal is 403 with a problem code (`GRANT_REFUSALS`); none is kept by an
  Idempotency-Key (shared.idempotency: the grant is not part of the request's fingerprint), so
  a retry of a request that succeeded replays its answer, whatever became of its grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app, g, request

from shared.auth.tokens import GRANT_PARTY, AuthError, Caller, TokenVerifier
from shared.errors import Problem
from shared.fields import MAX_AMOUNT

USERS_ANY = "users:any"
GRANT_HEADER = "X-User-Grant"
MAX_JTI_LENGTH = 128  # the used_grants column

# What a grant may name, by claim, and the type each must have (checked before use).
AMOUNT_CLAIMS = ("max_coins", "max_amount_minor")
PARTY_CLAIMS = ("creator_id",)

REQUIRED, INVALID, SCOPE, EXCEEDED, REPLAYED = (
    "grant-required",
    "grant-invalid",
    "grant-scope",
    "grant-exceeded",
    "grant-replayed",
)
GRANT_REFUSALS = frozenset({REQUIRED, INVALID, SCOPE, EXCEEDED, REPLAYED})


def refused(code: str, detail: str, claim: str | None = None) -> Problem:
    """403 naming the rule (`code`) and, where one claim is why, that claim."""
    errors = {f"{GRANT_HEADER}.{claim}": [detail]} if claim else None
    return Problem(403, "Forbidden", detail, code=code, errors=errors)


@dataclass(frozen=True)
class UserGrant:
    """A verified user grant: who vouched (`issuer`), for which user and caller, until when, and
    the limits it names (claim -> value, types checked)."""

    issuer: str
    jti: str
    user_id: str
    caller: str
    expires_at: datetime
    limits: dict = field(default_factory=dict)

    def allows_at_most(self, claim: str, amount: int) -> None:
        """403 unless the grant names `claim` and `amount` is within it."""
        limit = self.limits.get(claim)
        if limit is None:
            raise refused(SCOPE, f"The user grant does not name {claim}: it allows no such spend.", claim)
        if amount > limit:
            raise refused(EXCEEDED, f"The request needs {amount}, over the user grant's {claim} of {limit}.", claim)

    def allows_no_spend(self) -> None:
        """403 if the grant names a spend (a gift's or a withdrawal's): it is for that call, not for
        one that spends nothing (registering a creator, changing their payout method)."""
        named = [claim for claim in AMOUNT_CLAIMS if claim in self.limits]
        if named:
            raise refused(SCOPE, f"The user grant allows a spend ({named[0]}), not this call.", named[0])

    def allows_party(self, claim: str, value: str) -> None:
        """403 if the grant names `claim` and `value` is another."""
        named = self.limits.get(claim)
        if named is not None and named != value:
            raise refused(SCOPE, f"The user grant is for another {claim}.", claim)

    def row(self, now: datetime) -> dict:
        """Its row in `used_grants` (shared.db.tables.used_grants_table)."""
        return {
            "issuer": self.issuer,
            "jti": self.jti,
            "user_id": self.user_id,
            "caller": self.caller,
            "expires_at": self.expires_at,
            "used_at": now,
        }


def _limits(claims: dict) -> dict:
    """The limits a grant names, each of the type it is read as (else 403 naming the claim)."""
    limits = {}
    for name in AMOUNT_CLAIMS:
        if name in claims:
            value = claims[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_AMOUNT:
                raise refused(INVALID, f"The user grant's {name} must be a JSON integer from 1 to {MAX_AMOUNT}.", name)
            limits[name] = value
    for name in PARTY_CLAIMS:
        if name in claims:
            value = claims[name]
            if not isinstance(value, str) or not 0 < len(value) <= 64:
                raise refused(INVALID, f"The user grant's {name} must be a string of 1-64 characters.", name)
            limits[name] = value
    return limits


def verify_grant(caller: Caller, user_id: str, grant: str, verifier: TokenVerifier) -> UserGrant:
    """The grant, verified for `caller` acting for `user_id` on this service; 403 naming the rule."""
    try:
        claims, key = verifier.verify(grant.strip())
    except AuthError as exc:
        raise refused(INVALID, f"The user grant is refused: {exc.detail}") from exc
    if USERS_ANY not in verifier.settings.policy.get(key.owner, ()):
        raise refused(INVALID, f"The user grant's issuer {key.owner!r} may not vouch for users here.", "iss")
    if GRANT_PARTY not in claims:
        raise refused(INVALID, "The user grant must name the caller it is for (azp).", GRANT_PARTY)
    if claims[GRANT_PARTY] != caller.name:
        raise refused(SCOPE, "The user grant was issued to another caller (azp).", GRANT_PARTY)
    if claims["sub"] != user_id:
        raise refused(SCOPE, "The user grant is for another user (sub).", "sub")
    jti = claims["jti"]
    if len(jti) > MAX_JTI_LENGTH or not jti.isprintable():
        raise refused(INVALID, f"The user grant's jti must be 1-{MAX_JTI_LENGTH} printable characters.", "jti")
    return UserGrant(
        issuer=key.owner,
        jti=jti,
        user_id=user_id,
        caller=caller.name,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        limits=_limits(claims),
    )


def check_acting_for(
    caller: Caller, user_id: str, grant: str | None, verifier: TokenVerifier, *, takes_grants: bool = True
) -> UserGrant | None:
    """Refuse (403) unless `caller` may act for `user_id` by the rules above. Returns the grant
    sent, verified, which the view must spend with its effect; None if none was sent.
    `takes_grants` False: the route cannot bind a grant to its call, so it refuses every grant."""
    if grant is not None and not takes_grants:
        raise refused(SCOPE, f"This route takes no user grant ({GRANT_HEADER}); only a caller acting for any user.")
    if grant is not None:
        return verify_grant(caller, user_id, grant, verifier)
    if caller.may(USERS_ANY):
        return None
    if not takes_grants:
        raise refused(SCOPE, f"Caller {caller.name!r} may not act for users on this route (it takes no user grant).")
    raise refused(REQUIRED, f"Caller {caller.name!r} may act for a user only with a user grant ({GRANT_HEADER}).")


def acting_for(user_id: str, *, takes_grants: bool = True) -> UserGrant | None:
    """In a view: the request's caller acts for `user_id`, or the request is refused with 403.
    Returns the request's user grant (to be spent with the effect), or None."""
    return check_acting_for(
        g.caller,
        user_id,
        request.headers.get(GRANT_HEADER),
        current_app.extensions["coins"].verifier,  # the app's wiring (shared.http.app `wiring`; auth is below http)
        takes_grants=takes_grants,
    )


def replayed() -> Problem:
    return refused(REPLAYED, "The user grant was used already: a grant authorises one call.", "jti")
