"""Gifting's HTTP routes. Each view parses its input with a schema (api/schemas.py), calls one
handler (service_layer/handlers.py) with a unit of work from this app's `GiftingService`, and
dumps a response schema. Keyed POSTs go through shared.idempotency.http."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from flask import Blueprint, g, request
from marshmallow import ValidationError

from services.gifting.adapters import queries
from services.gifting.api import schemas
from services.gifting.bootstrap import GiftingService
from services.gifting.domain.commands import SendGift
from services.gifting.domain.model import CATALOG
from services.gifting.service_layer import handlers
from shared.auth.onbehalf import (
    GRANT_HEADER,
    GRANT_REFUSALS,
    INVALID,
    SCOPE,
    UserGrant,
    acting_for,
    check_acting_for,
    refused,
)
from shared.db.engines import retry_transient, snapshot
from shared.db.reads import event_counts
from shared.errors import DomainError, Problem, validation_problem
from shared.fields import KEY_RULE, schema
from shared.http.app import Doc, ManyItems, item_problem, json_body, keyset_page, query_args, route, wiring
from shared.http.audit import AuditPageQuery
from shared.idempotency import Answer, KeyedRequest, is_valid_key
from shared.idempotency.http import KeyedCall, answer_items, idempotent, refusal
from shared.idempotency.store import KeyStore
from shared.messaging.uow import run, transaction
from shared.observability import metrics

bp = Blueprint("gifting", __name__, url_prefix="/v1")


def service() -> GiftingService:
    """The app's one wiring object (entrypoints/wsgi.py `create_app`), as shared.http.app `wiring` finds it."""
    return wiring()


@route(
    bp,
    "GET /gifts/catalog",
    permission="catalog:read",
    doc=Doc(summary="The gift catalog", responses={200: schemas.CatalogSchema}, tag="gifts"),
)
def catalog():
    gifts = sorted(CATALOG.values(), key=lambda gift: (gift.coins, gift.name))
    return schema(schemas.CatalogSchema).dump({"gifts": gifts})


@route(
    bp,
    "GET /wallets/<user_id>",
    permission="wallets:read",
    doc=Doc(summary="A user's coin balance and status", responses={200: schemas.WalletSchema}),
)
def wallet(user_id: str):
    found = run(handlers.wallet_of, user_id, uow=service().uow())
    return schema(schemas.WalletSchema).dump(found)


@route(
    bp,
    "GET /wallets/<user_id>/transactions",
    permission="wallets:read",
    doc=Doc(
        summary="The wallet's ledger, newest first", query=schemas.PageQuery, responses={200: schemas.LedgerPageSchema}
    ),
)
def transactions(user_id: str):
    args = query_args(schema(schemas.PageQuery))
    before = int(args["cursor"]) if args["cursor"] else None
    entries = run(handlers.ledger_of, user_id, uow=service().uow(), limit=args["limit"] + 1, before_id=before)
    page, next_cursor = keyset_page(entries, args["limit"], lambda entry: str(entry.entry_id))
    return schema(schemas.LedgerPageSchema).dump({"user_id": user_id, "transactions": page, "next_cursor": next_cursor})


def gift_made(conn, gift_tx_id: str):
    """A retry's answer: the gift its first attempt made (its key row holds no body)."""
    gift = run(handlers.get_gift, gift_tx_id, uow=service().uow(conn))
    return schema(schemas.GiftTransactionSchema).dump(gift), 201


@route(
    bp,
    "POST /gifts",
    permission="gifts:send",
    keyed=idempotent(required=True, transactional=True, render_again=gift_made),
    doc=Doc(
        summary="Send a gift (or a combo) to a creator",
        body=schemas.SendGiftRequest,
        responses={201: schemas.GiftTransactionSchema},
        errors={403: "Wallet frozen", 409: "Not enough coins", 422: "Invalid fields or a gift to oneself"},
        acts_for=True,
    ),
)
def send_gift(call: KeyedCall):
    body = json_body(schema(schemas.SendGiftRequest))
    grant = acting_for(body["sender_id"])  # whose coins, and how many: see shared.auth.onbehalf
    svc = service()
    uow = svc.uow(conn=call.conn, key_row=call.key_row)
    tx = run(handlers.send_gift, SendGift(**body), uow=uow, rules=svc.settings.rules, grant=grant)
    return schema(schemas.GiftTransactionSchema).dump(tx), 201


GIFTS_PATH = "/v1/gifts"  # a batch's items live in this route's key space, and answer as it would


@dataclass(frozen=True)
class _Item:
    """One item of a batch as read: its keyed request (None if its key was unusable), and either
    the gift with the grant that pays for it, or the refusal it met before any state was read."""

    request: KeyedRequest | None
    gift: SendGift | None = None
    grant: UserGrant | None = None
    refused: Problem | None = None


@route(
    bp,
    "POST /gift-batches",
    permission="gifts:send-batch",
    doc=Doc(
        summary="Send up to 1,000 gifts at once, each as if sent alone (internal callers)",
        body=schemas.GiftBatchRequest,
        responses={200: schemas.GiftBatchResponse},
        errors={422: "No gifts, or more than 1,000"},
        tag="gifts",
    ),
)
def send_gift_batch():
    """Each item carries its own Idempotency-Key (the key space of POST /v1/gifts: the same gift
    replays by either route) and, for a caller acting with grants, its sender's grant. A bad item
    is that item's outcome; the answer lists every item's, in order. One transaction, owned here:
    the senders' wallets locked, the keys claimed, each item judged by its key or sent, the keys
    settled, the gifts written."""
    if request.headers.get(GRANT_HEADER) is not None:  # a grant binds one gift: it travels in its item
        raise refused(SCOPE, f"A batch takes each gift's user grant in its item's `grant`, not in {GRANT_HEADER}.")
    raw_items = json_body(schema(schemas.GiftBatchEnvelope), items="gifts")["gifts"]
    reader = ManyItems(schema(schemas.GiftBatchItem))  # one per batch: it remembers the values it checked
    svc = service()
    items = [_batch_item(raw, reader, g.caller, svc.verifier) for raw in raw_items]
    answers, stored = retry_transient(lambda: _answered(items, svc))
    results = [
        _result(index, item, answer, stored) for index, (item, answer) in enumerate(zip(items, answers, strict=True))
    ]
    _count_refusals(answers)
    return {"results": results}  # as GiftBatchResponse documents it: each part rendered already


def _answered(items: list[_Item], svc: GiftingService) -> tuple[list[Answer], dict]:
    """The batch's one transaction: each item's answer, and the gifts its replays made before."""
    store = KeyStore(svc.tables["idempotency_keys"])
    with transaction(svc.uow()) as uow:
        batch = handlers.GiftBatch([(i.gift, i.grant) for i in items if i.gift], uow=uow, rules=svc.settings.rules)
        answers = answer_items(
            uow.conn, store, [i.request for i in items], lambda n: _sent(items[n], batch), path=GIFTS_PATH
        )
        batch.write()
        stored = [a.resource_id for a in answers if a.replayed and a.body is None]
        return answers, handlers.gifts_by_id(stored, uow=uow)


def _sent(item: _Item, batch: handlers.GiftBatch) -> Answer:
    """An item decided as POST /v1/gifts would decide it: its refusal, or its gift (by id: a
    replay renders it again)."""
    if item.refused is not None:
        return refusal(item.refused, GIFTS_PATH)
    try:
        gift = batch.send(item.gift, item.grant)
    except (Problem, DomainError) as exc:
        return refusal(exc, GIFTS_PATH)
    return Answer(201, None, gift.gift_tx_id, live=gift)


_OUTCOMES = {
    "insufficient-coins": "insufficient-coins",
    "wallet-frozen": "frozen",
    "idempotency-key-reused": "key-reused",
    "idempotency-key-in-flight": "in-flight",
}


def _result(index: int, item: _Item, answer: Answer, stored: dict) -> dict:
    """An item's entry in the answer: its status and outcome, and its gift or its problem."""
    result = {"index": index, "idempotency_key": item.request.key if item.request else None, "status": answer.status}
    if answer.status < 400:
        gift = answer.live or stored.get(answer.resource_id) or json.loads(answer.body)
        return {**result, "outcome": "replayed" if answer.replayed else "created", "gift": _rendered(gift)}
    problem = json.loads(answer.body)
    code = problem["type"].rsplit("/", 1)[-1]
    if code in _OUTCOMES:
        outcome = _OUTCOMES[code]
    elif code in GRANT_REFUSALS:
        outcome = "grant-refused"
    else:
        outcome = "invalid" if answer.status in (400, 422) else code
    return {**result, "outcome": outcome, "problem": problem}


def _count_refusals(answers: list[Answer]) -> None:
    """Each item refused afresh counts in coins_http_refusals_total as it would alone (alerts such
    as CoinsUserGrantsReplayed read it); a kept refusal answered again does not, as on POST /v1/gifts."""
    refused_now = Counter((a.status, a.code or "unnamed") for a in answers if a.status >= 400 and not a.replayed)
    service_name = wiring().settings.common.service
    for (status, code), n in refused_now.items():
        metrics.HTTP_REFUSALS.labels(service_name, str(status), code).inc(n)


def _rendered(gift) -> dict:
    """A gift as POST /v1/gifts answers it (GiftTransactionSchema's dump, built directly: a
    schema dump per gift would cost more than the rest of the batch's rendering; a test holds the
    two equal); a replay stored by that route: its body as stored."""
    if isinstance(gift, dict):
        return gift
    return {
        "gift_tx_id": gift.gift_tx_id,
        "sender_id": gift.sender_id,
        "creator_id": gift.creator_id,
        "gift_id": gift.gift_id,
        "quantity": gift.quantity,
        "coins_each": gift.coins_each,
        "coins": gift.total_coins,
        "diamonds": gift.diamonds,
        "stream_id": gift.stream_id,
        "sent_at": gift.sent_at.isoformat(),
        "balance_after": gift.balance_after,
    }


def _batch_item(raw, reader: ManyItems, caller, verifier) -> _Item:
    """One item read as POST /v1/gifts would read it: its key (the header's rules), its fields
    (the body's schema), then its grant (shared.auth.onbehalf); the first refusal is its outcome."""
    if not isinstance(raw, dict):
        return _Item(None, refused=validation_problem({"body": ["A JSON object is required."]}))
    unstorable = item_problem(raw)  # unstorable text, a field named twice: refused as the body alone would be
    if unstorable is not None:
        return _Item(None, refused=unstorable)
    key = raw.get("idempotency_key")
    if not is_valid_key(key):
        reason = "Missing." if key is None else KEY_RULE
        return _Item(None, refused=validation_problem({"idempotency_key": [reason]}))
    gift_fields = {name: value for name, value in raw.items() if name not in ("idempotency_key", "grant")}
    keyed = KeyedRequest.of_json(caller=caller.name, key=key, method="POST", path=GIFTS_PATH, value=gift_fields)
    try:
        body = reader.load({name: value for name, value in raw.items() if name != "grant"})
        grant = check_acting_for(caller, body["sender_id"], _item_grant(raw.get("grant")), verifier)
    except ValidationError as exc:
        return _Item(keyed, refused=validation_problem(exc.messages))
    except Problem as exc:
        return _Item(keyed, refused=exc)
    gift = SendGift(**{name: body[name] for name in ("sender_id", "creator_id", "gift_id", "quantity", "stream_id")})
    return _Item(keyed, gift=gift, grant=grant)


def _item_grant(token) -> str | None:
    """An item's `grant`, read as the X-User-Grant header is: anything but a token is refused as
    the grant's (403 grant-invalid, which its key never keeps), not as the item's invalid field
    (a 422 the key would keep, under a fingerprint without the grant)."""
    if token is not None and (not isinstance(token, str) or not 0 < len(token) <= schemas.MAX_GRANT_CHARS):
        raise refused(INVALID, f"The user grant must be a token of 1-{schemas.MAX_GRANT_CHARS:,} characters.")
    return token


@route(
    bp,
    "GET /streams/<stream_id>/leaderboard",
    permission="leaderboards:read",
    doc=Doc(
        summary="Top gifters of a stream by coins",
        query=schemas.LeaderboardQuery,
        responses={200: schemas.LeaderboardSchema},
        tag="leaderboards",
    ),
)
def leaderboard(stream_id: str):
    args = query_args(schema(schemas.LeaderboardQuery))
    rows = run(handlers.leaderboard, stream_id, uow=service().uow(), limit=args["limit"])
    ranked = [
        {"rank": rank, "sender_id": sender, "coins": coins, "gifts": count}
        for rank, (sender, coins, count) in enumerate(rows, start=1)
    ]
    return schema(schemas.LeaderboardSchema).dump({"stream_id": stream_id, "leaderboard": ranked})


@route(
    bp,
    "GET /internal/totals",
    permission="audit:read",
    doc=Doc(summary="Ledger totals and event counts, for the auditor", responses={200: schemas.GiftingTotalsSchema}),
)
def totals():
    svc = service()
    with snapshot(svc.engine) as conn:
        figures = {**queries.totals(conn), **event_counts(conn, svc.tables)}
    return schema(schemas.GiftingTotalsSchema).dump(figures)


@route(
    bp,
    "GET /internal/gifts",
    permission="audit:read",
    doc=Doc(
        summary="Every gift in id order, and the rules in force, for the auditor",
        query=AuditPageQuery,
        responses={200: schemas.InternalGiftPageSchema},
    ),
)
def internal_gifts():
    args = query_args(schema(AuditPageQuery))
    svc = service()
    with snapshot(svc.engine) as conn:
        rows, next_cursor = queries.gifts_page(conn, cursor=args["cursor"], limit=args["limit"])
    return schema(schemas.InternalGiftPageSchema).dump(
        {"gifts": rows, "rules": svc.settings.rules, "next_cursor": next_cursor}
    )


@route(
    bp,
    "GET /internal/coin-entries",
    permission="audit:read",
    doc=Doc(
        summary="Every credit of a purchase's coins, or clawback of a chargeback's, for the auditor",
        query=schemas.CoinEntriesQuery,
        responses={200: schemas.InternalCoinEntryPageSchema},
    ),
)
def internal_coin_entries():
    args = query_args(schema(schemas.CoinEntriesQuery))
    with snapshot(service().engine) as conn:
        rows, next_cursor = queries.coin_entries_page(
            conn, kind=args["kind"], cursor=args["cursor"], limit=args["limit"]
        )
    return schema(schemas.InternalCoinEntryPageSchema).dump({"entries": rows, "next_cursor": next_cursor})
