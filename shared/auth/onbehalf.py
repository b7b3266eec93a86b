"""Act-on-behalf rules: whose money a caller may move. A view names the user it acts for.

- A caller holding `users:any` on a service acts for any user there: the gateway, which
  authenticates end users itself.
- Any other caller acts for a user only with a user grant in the `X-User-Grant` header: a token
  signed by a caller that holds `users:any` here, whose `sub` is that user, `azp` this caller and
  `aud` this service, as short-lived as any token. So `live` spends a viewer's coins only when the
  gateway vouched for that viewer and that call; a grant for another user or caller is refused.
- Without either: 403, and nothing is written.
"""

from __future__ import annotations

from flask import current_app, g, request

from shared.auth.verifier import GRANT_PARTY, AuthError, Caller, TokenVerifier
from shared.errors import Problem

USERS_ANY = "users:any"
GRANT_HEADER = "X-User-Grant"


def _forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail, code="forbidden")


def check_acting_for(caller: Caller, user_id: str, grant: str | None, verifier: TokenVerifier) -> None:
    """Refuse (403) unless `caller` may act for `user_id` by the rules above."""
    if caller.may(USERS_ANY):
        return
    if not grant:
        raise _forbidden(f"Caller {caller.name!r} may act for a user only with a user grant ({GRANT_HEADER}).")
    try:
        claims, key = verifier.verify(grant.strip())
    except AuthError as exc:
        raise _forbidden(f"The user grant is refused: {exc.detail}") from exc
    if USERS_ANY not in verifier.settings.policy.get(key.owner, ()):
        raise _forbidden(f"The user grant's issuer {key.owner!r} may not vouch for users here.")
    if claims.get(GRANT_PARTY) != caller.name:
        raise _forbidden("The user grant was issued to another caller (azp).")
    if claims["sub"] != user_id:
        raise _forbidden("The user grant is for another user (sub).")


def acting_for(user_id: str) -> None:
    """In a view: the request's caller acts for `user_id`, or the request is refused with 403."""
    check_acting_for(g.caller, user_id, request.headers.get(GRANT_HEADER), current_app.extensions["coins"].verifier)
