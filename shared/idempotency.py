"""The one Idempotency-Key design of every money-moving POST: its rules and its types.

A key is one record per (caller, key): the request's fingerprint (caller, method, path, body),
its state, the owner token of the attempt that holds or made it, what the request made
(`resource_id`) and its answer. A record is never deleted: the same key with another request
is 422 for as long as it exists, whatever became of the first.

    in_flight  an attempt holds the key (its `owner`) until `lease_until`: the same request
               again is 409; after the lease (its process died) it may be taken over
    open       an attempt failed without an answer worth keeping (5xx, a crash it saw):
               only the same request may take the key again, and resumes `resource_id`
    done       the answer is stored (`response_body`, or None: render `resource_id` again)
               and replayed with `Idempotent-Replayed: true`

Which answers a key keeps (`keeps`, the one rule every keyed POST follows): a success, and a
refusal by the rules of the request itself (invalid fields, a declined card, a blocked country,
an age, a cap), are kept forever: the same request gets the same answer (the caps aside,
below), and a new try is a new request with a new key. A refusal by a state that moves on (`PASSING_REFUSALS`: not
enough coins or diamonds, a frozen wallet, an unregistered creator, a request in flight) and a
failure (5xx: an outcome not known yet) are not kept: the key stays open for the same request
only, which is answered afresh, so a client that fixed the state (bought coins, registered)
retries with the same key and the intent takes effect once. The 24-hour and daily caps count as
rules of the request: time passing is not something the client fixes to retry, and a purchase
refused today must not happen tomorrow on a late replay of the same key.

Two ways to run an attempt, one set of rules (shared.idempotency_attempts):

- `run_leased`, where an attempt calls out of the process in the middle (a card charge): the key
  is claimed first, in a transaction of its own, with a lease that outlasts the attempt's
  bounded outside call; the attempt ties what it makes to the key (`attach`, only while it still
  owns it, so a late attempt that lost its claim cannot make a second purchase); the answer is
  stored only by the owner. A retry of the same request after a failure resumes what the first
  made instead of making another.
- `run_in_transaction`, where the whole effect lies in the service's database (gifts,
  withdrawals, chargebacks, creators): the effect is made, then the key is claimed with its
  answer in one statement at the end of the same transaction (`settle_in`): a crash leaves
  nothing behind, and the key costs no extra round trip. A duplicate of a committed request
  finds the key taken, rolls its own attempt back and replays the first answer. On PostgreSQL
  the claim takes a non-waiting advisory lock on the key, so a duplicate that reaches it while
  the first is uncommitted gets 409 at once instead of blocking. Where the effect is a single
  statement (a gift on PostgreSQL), that statement claims the key itself (`claim_cte`) and
  commits on its own: the whole request is one round trip, and the key's row keeps the status
  and the gift's id but no body, the gift being rendered again for a retry.

Where the rest lives, one job a module:
    shared.idempotency_store     a service's key records (`KeyStore`): claim, attach, finish,
                                 settle, and the judging of a key already recorded
    shared.idempotency_pg        the claims PostgreSQL makes in one statement (`claim_cte`, the
                                 advisory-locked settle)
    shared.idempotency_attempts  the two ways to run an attempt
    shared.idempotent_views      the `idempotent` decorator a Flask view wears
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field

from shared.errors import Problem

MAX_KEY_LENGTH = 255
IN_FLIGHT, OPEN, DONE = "in_flight", "open", "done"


@dataclass(frozen=True)
class KeyedRequest:
    """A request sent with an Idempotency-Key: who sent it, the key, and its fingerprint."""

    caller: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, *, caller: str, key: str, method: str, path: str, body: bytes) -> KeyedRequest:
        """The request with its fingerprint: caller, method, path and the body as canonical JSON."""
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, RecursionError):  # not JSON: the body itself is refused later
            canonical = body
        head = json.dumps([caller, method, path]).encode()
        return cls(caller, key, hashlib.sha256(head + b"\n" + canonical).hexdigest())


@dataclass(frozen=True)
class Claim:
    """One attempt's hold on a key: `owner` is its token; `resumes` is what an earlier attempt
    of the same request made; `in_statement`: the effect's one statement claims the key."""

    request: KeyedRequest
    owner: str = field(default_factory=lambda: str(uuid.uuid4()))
    resumes: str | None = None
    in_statement: bool = False

    def params(self, now, resource_id: str, status: int = 201) -> dict:
        """The bind values of `shared.idempotency_pg.claim_cte`: the key's row, done, answered `status`."""
        r = self.request
        return {
            "k_caller": r.caller,
            "k_key": r.key,
            "k_request_hash": r.fingerprint,
            "k_owner": self.owner,
            "k_resource_id": resource_id,
            "k_status": status,
            "k_now": now,
        }


# Refusals that depend on a state that moves on, by problem code: never kept (see `keeps`).
PASSING_REFUSALS = frozenset(
    {
        "insufficient-coins",  # gifting: a purchase credits the wallet
        "wallet-frozen",  # gifting: purchases repay the debt
        "insufficient-earnings",  # payout: gifts credit diamonds, a failed payout returns them
        "creator-not-registered",  # payout: the creator registers
        "payout-method-on-hold",  # payout: the hold after a payout method change ends
        "idempotency-key-in-flight",  # the first attempt ends
    }
    # A user grant's refusals (shared.auth.onbehalf.GRANT_REFUSALS, which a test holds to this
    # list): the grant is not part of the request's fingerprint, so the same request with the same
    # key and a grant that covers it is answered afresh (and a retry of a request that succeeded
    # replays its answer, whatever became of its grant).
    | {"grant-required", "grant-invalid", "grant-scope", "grant-exceeded", "grant-replayed"}
)


def keeps(status: int, code: str | None) -> bool:
    """Whether a key keeps this answer forever and replays it to every retry of the request:
    successes and refusals by the request's own rules yes; failures (5xx) and refusals by a
    state that moves on (`PASSING_REFUSALS`) no, the same request is then answered afresh."""
    if status >= 500:
        return False
    return status < 400 or code not in PASSING_REFUSALS


@dataclass(frozen=True)
class Answer:
    """A request's answer. `body` None: the resource `resource_id` is rendered again.
    `live` is the framework's response for this attempt, never stored; `code` the refusal's
    problem code (for `keeps`)."""

    status: int
    body: str | None
    resource_id: str | None = None
    replayed: bool = False
    live: object = field(default=None, compare=False)
    code: str | None = field(default=None, compare=False)

    @property
    def kept(self) -> bool:
        return keeps(self.status, self.code)


class ClaimLost(Exception):
    """The attempt no longer owns its key: its lease ran out and a retry took it over."""


def check_key(key: str | None, *, required: bool) -> str | None:
    """The request's Idempotency-Key: None if absent (400 where required); a header sent empty,
    too long or unprintable is 400 even where a key is optional."""
    if key is None:
        if required:
            raise Problem(
                400,
                "Idempotency-Key required",
                "This request moves money: send an Idempotency-Key "
                "header (for example a UUID) so that a retry cannot apply it twice.",
                code="idempotency-key-required",
                errors={"Idempotency-Key": ["Missing header."]},
            )
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Problem(
            400,
            "Invalid Idempotency-Key",
            f"The key must be 1-{MAX_KEY_LENGTH} printable characters.",
            code="idempotency-key-invalid",
            errors={"Idempotency-Key": ["Invalid header."]},
        )
    return key


def reused() -> Problem:
    """422: the key was used with another request."""
    return Problem(
        422,
        "Idempotency-Key reused",
        "This Idempotency-Key was used with a different request; use a new key for a new request.",
        code="idempotency-key-reused",
        errors={"Idempotency-Key": ["Already used with a different request."]},
    )


def in_flight() -> Problem:
    """409: another attempt holds the key (or, on PostgreSQL, is claiming it uncommitted)."""
    return Problem(
        409,
        "Request in flight",
        "A request with this Idempotency-Key is still being processed; retry later.",
        code="idempotency-key-in-flight",
        headers={"Retry-After": "1"},
    )
