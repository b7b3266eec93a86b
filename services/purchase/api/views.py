"""The purchase service's HTTP routes. Each view parses its input with a schema (api/schemas.py),
calls one handler (service_layer/handlers.py) with a unit of work from this app's
`PurchaseService`, and dumps a response schema. Keyed POSTs go through shared.idempotency.http."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta

from flask import Blueprint
from marshmallow import ValidationError

from services.purchase.adapters import queries
from services.purchase.api import schemas
from services.purchase.bootstrap import PurchaseService
from services.purchase.domain.commands import BuyCoins, RecordChargeback
from services.purchase.domain.model import HELD
from services.purchase.service_layer import handlers, settlement
from shared.auth.onbehalf import acting_for
from shared.clock import utcnow
from shared.db.engines import snapshot
from shared.db.reads import event_counts
from shared.fields import schema
from shared.http.app import ID_RE, Doc, json_body, keyset_page, query_args, route, wiring
from shared.http.audit import AuditPageQuery
from shared.idempotency.http import KeyedCall, idempotent
from shared.messaging.uow import run

bp = Blueprint("purchase", __name__, url_prefix="/v1")


def service() -> PurchaseService:
    """The app's one wiring object (entrypoints/wsgi.py `create_app`), as shared.http.app `wiring` finds it."""
    return wiring()


@route(
    bp,
    "GET /packages",
    permission="packages:read",
    doc=Doc(
        summary="Coin packages and their prices in a country",
        query=schemas.CountryQuery,
        responses={200: schemas.PackagesSchema},
        errors={403: "Country not served"},
    ),
)
def packages():
    country = query_args(schema(schemas.CountryQuery))["country"]
    prices = handlers.price_list(country, rules=service().settings.rules)
    return schema(schemas.PackagesSchema).dump(
        {
            "country": prices.country,
            "currency": prices.currency,
            "minor_unit_digits": prices.minor_unit_digits,
            "packages": prices.packages,
        }
    )


@route(
    bp,
    "POST /purchases",
    permission="purchases:create",
    keyed=idempotent(required=True),
    doc=Doc(
        summary="Buy a coin package or a custom amount of coins",
        body=schemas.PurchaseRequest,
        responses={201: schemas.PurchaseSchema, 202: schemas.PurchaseSchema},
        acts_for=True,
        location="/v1/purchases/{purchase_id}",
        errors={
            402: "Payment declined",
            403: "Country not served, or buyer too young",
            422: "Invalid fields, unknown package, or over the 24-hour limit",
            503: "The processor's answer is not known yet: retry with the same key",
        },
    ),
)
def buy(call: KeyedCall):
    body = json_body(schema(schemas.PurchaseRequest))
    acting_for(body["user_id"], takes_grants=False)  # a card charge: only a caller acting for any user
    cmd = BuyCoins(
        user_id=body["user_id"],
        country=body["country"],
        birth_date=body["birth_date"],
        payment_method=body["payment"]["method"],
        payment_token=body["payment"]["token"],
        package_id=body.get("package_id"),
        coins=body.get("coins"),
    )
    svc = service()
    purchase = handlers.buy_coins(
        cmd,
        uow=svc.uow(key=call.key),
        processor=svc.processor,
        rules=svc.settings.rules,
        token=call.token,
        resumes=call.resumes,
        claim_for=svc.settings.claim_for,
        first_check=timedelta(seconds=svc.settings.reconcile_after_seconds),
    )
    return schema(schemas.PurchaseSchema).dump(purchase), 202 if purchase.status == HELD else 201


@route(
    bp,
    "GET /purchases/<purchase_id>",
    permission="purchases:read",
    doc=Doc(summary="One purchase", responses={200: schemas.PurchaseSchema}, errors={404: "No such purchase"}),
)
def purchase(purchase_id: str):
    found = run(handlers.get_purchase, purchase_id, uow=service().uow())
    return schema(schemas.PurchaseSchema).dump(found)


@route(
    bp,
    "GET /users/<user_id>/purchases",
    permission="purchases:read",
    doc=Doc(
        summary="A user's purchases, newest first",
        query=schemas.PageQuery,
        responses={200: schemas.PurchasePageSchema},
        tag="purchases",
    ),
)
def user_purchases(user_id: str):
    args = query_args(schema(schemas.PageQuery))
    before = _decode_cursor(args["cursor"]) if args["cursor"] is not None else None  # "" is no cursor issued
    found = run(handlers.purchases_of, user_id, uow=service().uow(), limit=args["limit"] + 1, before=before)
    page, next_cursor = keyset_page(found, args["limit"], _encode_cursor)
    return schema(schemas.PurchasePageSchema).dump({"user_id": user_id, "purchases": page, "next_cursor": next_cursor})


@route(
    bp,
    "POST /purchases/<purchase_id>/refund",
    permission="purchases:refund",
    doc=Doc(
        summary="Ask for a refund (always refused: coins are non-refundable)",
        errors={404: "No such purchase", 422: "Coins are non-refundable"},
    ),
)
def refund(purchase_id: str):
    run(handlers.refuse_refund, purchase_id, uow=service().uow())


@route(
    bp,
    "POST /chargebacks",
    permission="chargebacks:create",
    keyed=idempotent(required=True, transactional=True),
    doc=Doc(
        summary=(
            "The processor reports a chargeback: recorded whatever the purchase's state, it reverses a "
            "completed purchase (coins taken back) at once, a pending one once it completes, and is void "
            "for a declined one (status in the body)"
        ),
        body=schemas.ChargebackRequest,
        responses={202: schemas.ChargebackSchema},
        errors={404: "No such purchase", 409: "Purchase charged back already"},
    ),
)
def chargeback(call: KeyedCall):
    body = json_body(schema(schemas.ChargebackRequest))
    cmd = RecordChargeback(purchase_id=body["purchase_id"], reason=body["reason"])
    result = run(settlement.record_chargeback, cmd, uow=service().uow(conn=call.conn))
    return schema(schemas.ChargebackSchema).dump(result), 202


@route(
    bp,
    "GET /internal/totals",
    permission="audit:read",
    doc=Doc(
        summary="Coins bought and reversed, and event counts, for the auditor",
        responses={200: schemas.PurchaseTotalsSchema},
    ),
)
def totals():
    svc = service()
    overdue_before = utcnow() - timedelta(seconds=svc.settings.overdue_seconds)
    with snapshot(svc.engine) as conn:
        figures = {**queries.totals(conn, overdue_before=overdue_before), **event_counts(conn, svc.tables)}
    return schema(schemas.PurchaseTotalsSchema).dump(figures)


@route(
    bp,
    "GET /internal/purchases",
    permission="audit:read",
    doc=Doc(
        summary="Every purchase in id order, with its chargeback, for the auditor",
        query=AuditPageQuery,
        responses={200: schemas.InternalPurchasePageSchema},
    ),
)
def internal_purchases():
    args = query_args(schema(AuditPageQuery))
    with snapshot(service().engine) as conn:
        rows, next_cursor = queries.purchases_page(conn, cursor=args["cursor"], limit=args["limit"])
    return schema(schemas.InternalPurchasePageSchema).dump({"purchases": rows, "next_cursor": next_cursor})


def _encode_cursor(purchase) -> str:
    raw = f"{purchase.created_at.isoformat()}|{purchase.purchase_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, purchase_id) `_encode_cursor` made; anything else (a forged id with a NUL,
    a time without its zone) is refused as it would be a field, never handed to the database."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, purchase_id = raw.split("|", 1)
        when = datetime.fromisoformat(created_at)
        if when.tzinfo is None or not ID_RE.fullmatch(purchase_id):
            raise ValueError("not a cursor this service issued")
        return when, purchase_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError({"cursor": ["Not a cursor this service issued."]}) from None
