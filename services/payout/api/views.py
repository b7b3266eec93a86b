"""The payout service's HTTP routes. Each view parses its input with a schema (api/schemas.py),
calls one handler (service_layer/handlers.py) with a unit of work from this app's
`PayoutService`, and dumps a response schema. Keyed POSTs go through shared.idempotency.http."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g

from services.payout.adapters import queries
from services.payout.api import schemas
from services.payout.bootstrap import PayoutService
from services.payout.domain.commands import ChangePayoutMethod, LiftMethodHold, RegisterCreator, RequestWithdrawal
from services.payout.service_layer import handlers
from shared.auth.onbehalf import acting_for
from shared.clock import utcnow
from shared.db.engines import snapshot
from shared.db.reads import event_counts
from shared.fields import schema
from shared.http.app import Doc, json_body, query_args, route, wiring
from shared.http.audit import AuditPageQuery
from shared.idempotency.http import KeyedCall, idempotent
from shared.messaging.uow import run

bp = Blueprint("payout", __name__, url_prefix="/v1")


def service() -> PayoutService:
    """The app's one wiring object (entrypoints/wsgi.py `create_app`), as shared.http.app `wiring` finds it."""
    return wiring()


@route(
    bp,
    "POST /creators",
    permission="creators:write",
    keyed=idempotent(required=False, transactional=True),
    doc=Doc(
        summary="Register a creator and their payout method (the same again: 200, unchanged)",
        body=schemas.RegisterCreatorRequest,
        responses={201: schemas.CreatorSchema, 200: schemas.CreatorSchema},
        errors={
            403: "Creator younger than 18",
            409: "Registered already with other details (change the method with its own call)",
        },
        acts_for=True,
    ),
)
def register(call: KeyedCall):
    body = json_body(schema(schemas.RegisterCreatorRequest))
    grant = acting_for(body["creator_id"])
    cmd = RegisterCreator(
        creator_id=body["creator_id"],
        country=body["country"],
        birth_date=body["birth_date"],
        payout_method=body["payout_method"]["type"],
        payout_account=body["payout_method"]["account"],
    )
    svc = service()
    creator, created = run(
        handlers.register_creator, cmd, uow=svc.uow(conn=call.conn), rules=svc.settings.rules, grant=grant
    )
    return schema(schemas.CreatorSchema).dump(creator), 201 if created else 200


@route(
    bp,
    "PUT /creators/<creator_id>/payout-method",
    permission="payout-methods:write",
    keyed=idempotent(required=True, transactional=True),
    doc=Doc(
        summary="Change where a creator's payouts go: recorded with the caller, the end user and the time; new "
        "withdrawals wait out a hold (PAYOUT_METHOD_CHANGE_HOLD_HOURS) and a payout_method.changed event tells them",
        body=schemas.ChangePayoutMethodRequest,
        responses={200: schemas.PayoutMethodChangeSchema},
        errors={404: "Creator not registered"},
        acts_for=True,
    ),
)
def change_payout_method(creator_id: str, call: KeyedCall):
    body = json_body(schema(schemas.ChangePayoutMethodRequest))
    grant = acting_for(creator_id)  # the end user who asked: the creator, vouched for by the caller or its grant
    cmd = ChangePayoutMethod(
        creator_id=creator_id,
        payout_method=body["payout_method"]["type"],
        payout_account=body["payout_method"]["account"],
        changed_by=g.caller.name,
        requested_by=creator_id,  # the user the call acts for (a grant is for exactly that user)
    )
    svc = service()
    change = run(handlers.change_payout_method, cmd, uow=svc.uow(conn=call.conn), rules=svc.settings.rules, grant=grant)
    return schema(schemas.PayoutMethodChangeSchema).dump(change)


@route(
    bp,
    "GET /creators/<creator_id>/payout-method-changes",
    permission="creators:read",
    doc=Doc(
        summary="Who changed a creator's payout method and when, newest first",
        responses={200: schemas.PayoutMethodChangesSchema},
        errors={404: "Creator not registered"},
    ),
)
def method_changes(creator_id: str):
    changes = run(handlers.payout_method_changes, creator_id, uow=service().uow())
    return schema(schemas.PayoutMethodChangesSchema).dump({"creator_id": creator_id, "changes": changes})


@route(
    bp,
    "POST /internal/creators/<creator_id>/payout-method-hold/lift",
    permission="payout-holds:lift",
    doc=Doc(
        summary="End a payout method change's hold now (an operator, with a reason): withdrawals waiting it "
        "out are sent at once, still held for review if the method changed again; recorded on the change",
        body=schemas.LiftMethodHoldRequest,
        responses={200: schemas.MethodHoldLiftSchema},
        errors={404: "Creator not registered", 409: "No hold running"},
        tag="creators",
    ),
)
def lift_method_hold(creator_id: str):
    body = json_body(schema(schemas.LiftMethodHoldRequest))
    cmd = LiftMethodHold(
        creator_id=creator_id, lifted_by=g.caller.name, requested_by=body["operator"], reason=body["reason"]
    )
    change, released = run(handlers.lift_method_hold, cmd, uow=service().uow())
    return schema(schemas.MethodHoldLiftSchema).dump({"change": change, "withdrawals_released": released})


@route(
    bp,
    "GET /creators/<creator_id>/earnings",
    permission="earnings:read",
    doc=Doc(
        summary="A creator's diamonds: total, pending, available, withdrawn", responses={200: schemas.EarningsSchema}
    ),
)
def earnings(creator_id: str):
    svc = service()
    found = run(handlers.earnings_of, creator_id, uow=svc.uow())
    return schema(schemas.EarningsSchema).dump(
        {
            "creator_id": creator_id,
            "total": found.total,
            "pending": found.pending,
            "available": found.available,
            "withdrawn": found.withdrawn,
            "in_flight": found.in_flight,
            "paid_out": found.paid_out,
            "available_value_minor": svc.settings.rules.value_minor(found.available),
        }
    )


@route(
    bp,
    "POST /withdrawals",
    permission="withdrawals:create",
    keyed=idempotent(required=True, transactional=True),
    doc=Doc(
        summary="Withdraw earnings as cash (gross USD cents; the method's fee comes out of it)",
        body=schemas.WithdrawalRequest,
        responses={201: schemas.WithdrawalSchema},
        errors={
            404: "Creator not registered",
            409: "More than the available earnings",
            422: "Below the minimum, or over the daily cap",
        },
        acts_for=True,
        location="/v1/withdrawals/{withdrawal_id}",
    ),
)
def withdraw(call: KeyedCall):
    body = json_body(schema(schemas.WithdrawalRequest))
    grant = acting_for(body["creator_id"])
    cmd = RequestWithdrawal(creator_id=body["creator_id"], amount_minor=body["amount_minor"])
    svc = service()
    withdrawal = run(
        handlers.request_withdrawal, cmd, uow=svc.uow(conn=call.conn), rules=svc.settings.rules, grant=grant
    )
    return schema(schemas.WithdrawalSchema).dump(withdrawal), 201


@route(
    bp,
    "GET /withdrawals/<withdrawal_id>",
    permission="withdrawals:read",
    doc=Doc(summary="One withdrawal", responses={200: schemas.WithdrawalSchema}, errors={404: "No such withdrawal"}),
)
def withdrawal(withdrawal_id: str):
    found = run(handlers.get_withdrawal, withdrawal_id, uow=service().uow())
    return schema(schemas.WithdrawalSchema).dump(found)


@route(
    bp,
    "GET /internal/totals",
    permission="audit:read",
    doc=Doc(summary="Diamond totals and event counts, for the auditor", responses={200: schemas.PayoutTotalsSchema}),
)
def totals():
    svc = service()
    overdue_before = utcnow() - timedelta(seconds=svc.settings.overdue_seconds)
    with snapshot(svc.engine) as conn:
        figures = {**queries.totals(conn, overdue_before=overdue_before), **event_counts(conn, svc.tables)}
    return schema(schemas.PayoutTotalsSchema).dump(figures)


@route(
    bp,
    "GET /internal/withdrawals",
    permission="audit:read",
    doc=Doc(
        summary="Every withdrawal in id order, and the rules in force, for the auditor",
        query=AuditPageQuery,
        responses={200: schemas.InternalWithdrawalPageSchema},
    ),
)
def internal_withdrawals():
    args = query_args(schema(AuditPageQuery))
    svc = service()
    with snapshot(svc.engine) as conn:
        rows, next_cursor = queries.withdrawals_page(conn, cursor=args["cursor"], limit=args["limit"])
    return schema(schemas.InternalWithdrawalPageSchema).dump(
        {"withdrawals": rows, "rules": svc.settings.rules, "next_cursor": next_cursor}
    )


@route(
    bp,
    "GET /internal/accounts",
    permission="audit:read",
    doc=Doc(
        summary="Every creator's diamond account in id order, for the auditor",
        query=AuditPageQuery,
        responses={200: schemas.InternalAccountPageSchema},
    ),
)
def internal_accounts():
    args = query_args(schema(AuditPageQuery))
    with snapshot(service().engine) as conn:
        rows, next_cursor = queries.accounts_page(conn, cursor=args["cursor"], limit=args["limit"])
    return schema(schemas.InternalAccountPageSchema).dump({"accounts": rows, "next_cursor": next_cursor})


@route(
    bp,
    "GET /internal/earnings",
    permission="audit:read",
    doc=Doc(
        summary="Every gift's credit in gift id order, for the auditor",
        query=AuditPageQuery,
        responses={200: schemas.InternalEarningPageSchema},
    ),
)
def internal_earnings():
    args = query_args(schema(AuditPageQuery))
    with snapshot(service().engine) as conn:
        rows, next_cursor = queries.earnings_page(conn, cursor=args["cursor"], limit=args["limit"])
    return schema(schemas.InternalEarningPageSchema).dump({"earnings": rows, "next_cursor": next_cursor})
