"""Idempotency-Key: a money-moving POST sent twice takes effect once. The whole design, top to bottom.

The rule (this module). A key is one row per (caller, key) holding the request's fingerprint
(caller, method, path, canonical body), a state, the token of the attempt that holds it, what the
request made (`resource_id`) and its answer. The same key with another request is 422 for as long
as the row lives. States: `in_flight` (an attempt holds it until `lease_until`: the same request
again is 409), `open` (an attempt failed: only the same request may take it), `done` (the answer
is replayed with `Idempotent-Replayed: true`). One replay rule (`judge`): another request 422;
held 409; done: the stored answer; else the key is free for this request. Which answers a key
keeps (`keeps`): a success and a refusal by the request's own rules forever; a 5xx or a refusal by
a state that moves on (`PASSING_REFUSALS`) never: the same request is answered afresh, once.

The store (store.py, `KeyStore`): the rows, on the caller's connection. The HTTP wrapper
(http.py, `idempotent`) fingerprints the request, runs the view as an attempt and owns its
transaction, in one of two ways:
  leased         a view that calls out of the process (a card charge): claim the key first in its
                 own transaction with a lease; the attempt ties what it makes to the key; the
                 answer is stored by the owner only. A retry resumes what the first attempt made.
  transactional  a view whose effect lies in this database: one transaction, the key settled
                 with the answer at its end (a duplicate finds it taken and replays). A view may
                 offer to claim the key inside its own statement (gifting's one-round-trip gift on
                 PostgreSQL): it gets the key's row as plain values (`KeyedCall.key_row`).
  a batch        items that each carry their own key (gifting's gift batches): `answer_items`
                 claims them all, judges each by the same rule, asks the view to decide the rest
                 and settles each key as its item alone would, in the view's one transaction.
Handlers never see any of it: they get a command, a unit of work and plain values.

May import: the core modules, `observability`, `db`, `messaging` (the unit of work's commit) and
`http` (the wrapper's request and its app's wiring).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field

from shared.clock import utcnow
from shared.errors import Problem
from shared.fields import KEY_PATTERN, KEY_RULE

_MAX_KEY_LENGTH = 255
_KEY_RE = re.compile(KEY_PATTERN)
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
            canonical = _canonical(json.loads(body, object_pairs_hook=_named_once))
        except (ValueError, RecursionError):  # not JSON, or a member named twice: refused later
            canonical = body  # as sent: never the canonical form of another body
        return cls._hashed(caller, key, method, path, canonical)

    @classmethod
    def of_json(cls, *, caller: str, key: str, method: str, path: str, value) -> KeyedRequest:
        """`of` for a body already parsed (`value`, as json.loads read it): the same fingerprint."""
        return cls._hashed(caller, key, method, path, _canonical(value))

    @classmethod
    def _hashed(cls, caller: str, key: str, method: str, path: str, canonical: bytes) -> KeyedRequest:
        head = json.dumps([caller, method, path]).encode()
        return cls(caller, key, hashlib.sha256(head + b"\n" + canonical).hexdigest())


def _named_once(pairs: list) -> dict:
    """A JSON object whose members are each named once (else the last would hide the first, and
    `{"quantity": 5, "quantity": 1}` would be the same request as `{"quantity": 1}`)."""
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a member named twice")
    return found


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


# Refusals that depend on a state that moves on, by problem code: never kept (see `keeps`).
PASSING_REFUSALS = frozenset(
    {
        "insufficient-coins",  # gifting: a purchase credits the wallet
        "wallet-frozen",  # gifting: purchases repay the debt
        "insufficient-earnings",  # payout: gifts credit diamonds, a failed payout returns them
        "creator-not-registered",  # payout: the creator registers
        "creator-already-registered",  # payout: PUT /payout-method changes the details it compares
        "idempotency-key-in-flight",  # the first attempt ends
    }
    # A user grant's refusals (shared.auth.onbehalf.GRANT_REFUSALS, which a test holds to this
    # list): the grant is not part of the request's fingerprint, so the same request with the same
    # key and a grant that covers it is answered afresh (and a retry of a request that succeeded
    # replays its answer, whatever became of its grant).
    | {"grant-required", "grant-invalid", "grant-scope", "grant-exceeded", "grant-replayed"}
)


def keeps(status: int, code: str | None) -> bool:
    """Which answers a key keeps: whether it keeps this one forever and replays it to every retry
    of the request. Successes and refusals by the request's own rules yes (a new try is a new
    request with a new key); failures (5xx: an outcome not known yet) and refusals by a state that
    moves on (`PASSING_REFUSALS`) no: the same request is answered afresh, so a client that fixed
    the state retries with the same key and the intent takes effect once. The 24-hour and daily
    caps count as rules of the request: time passing is not something a client fixes to retry, and
    a purchase refused today must not happen tomorrow on a late replay of the same key."""
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


@dataclass(frozen=True)
class Claim:
    """One attempt's hold on a key: `owner` is its token; `resumes` is what an earlier attempt of
    the same request made (lease mode). The store (store.py) makes and keeps them."""

    request: KeyedRequest
    owner: str = field(default_factory=lambda: str(uuid.uuid4()))
    resumes: str | None = None

    def row(self, status: int = 201) -> dict:
        """The key's row, done with `status`, for an effect that claims the key in its own
        statement: plain column values (the statement adds `resource_id` and the times)."""
        r = self.request
        return {"caller": r.caller, "key": r.key, "request_hash": r.fingerprint, "owner": self.owner, "status": status}


class ClaimLost(Exception):
    """The attempt no longer owns its key: its lease ran out and a retry took it over."""


def is_valid_key(key: object) -> bool:
    """An Idempotency-Key's rule, as a header or in a batch's item: 1-255 printable ASCII
    characters (the IETF draft's sf-string), none of them a space at either end. One key reads the
    same in both: a header arrives with its outer spaces trimmed and its bytes as Latin-1, so a
    non-ASCII or padded key would be another key in a batch item (and the same gift made twice)."""
    return isinstance(key, str) and len(key) <= _MAX_KEY_LENGTH and _KEY_RE.fullmatch(key) is not None


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
    if not is_valid_key(key):
        raise Problem(
            400,
            "Invalid Idempotency-Key",
            f"The key must be {KEY_RULE}",
            code="idempotency-key-invalid",
            errors={"Idempotency-Key": ["Invalid header."]},
        )
    return key


def _reused() -> Problem:
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


def judge(row, request: KeyedRequest) -> Answer | None:
    """The one replay rule, for a key already recorded: another request 422, held 409, done its
    stored answer (replayed), else None: the key is free for this request."""
    if row.request_hash != request.fingerprint:
        raise _reused()
    if row.state == DONE:
        return Answer(row.response_status, row.response_body, row.resource_id, replayed=True)
    if row.state == IN_FLIGHT and row.lease_until > utcnow():
        raise in_flight()
    return None
