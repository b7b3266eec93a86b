"""The sandbox card processor: `gunicorn sandboxes.card:app` (started by `coinsctl stack`).

POST /v1/charges {payment_id, amount_minor, currency, method, token} charges once per
payment_id (a repeat answers with the first charge); GET /v1/charges/<payment_id> looks one up;
GET /v1/charges lists them all (for tests). The settlement reports a real processor offers
(Stripe's balance transactions), paged by `cursor`: GET /v1/reports/charges and
GET /v1/reports/chargebacks. POST /v1/charges/<payment_id>/chargebacks {reason} records that
the card holder disputed a settled charge (the money goes back to them); like a real processor
it only records it: the notification to the purchase service is the caller's to send.
What a token scripts:

    tok_visa, tok_mastercard  approved                 tok_declined, anything else  declined
    tok_slow                  approved after SANDBOX_SLOW_MS
    tok_timeout               the money is taken, the answer comes after SANDBOX_HANG_MS
    tok_error                 503, nothing taken, every time
    tok_error_once            503 without charging the first time, then approved
    tok_fail_later            "processing"; declined once SANDBOX_LATER_MS have passed
"""

from __future__ import annotations

import time

from flask import jsonify, request

from sandboxes.common import Store, Timing, base_app, db_path, problem, report_page, settled_status

SCHEMA = """
CREATE TABLE IF NOT EXISTS charges (
    payment_id TEXT PRIMARY KEY, charge_id TEXT NOT NULL, token TEXT NOT NULL, amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, decline_code TEXT, settles_at REAL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS calls (payment_id TEXT PRIMARY KEY, calls INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chargebacks (
    payment_id TEXT PRIMARY KEY, chargeback_id TEXT NOT NULL, amount_minor INTEGER NOT NULL, currency TEXT NOT NULL,
    reason TEXT NOT NULL, created_at REAL NOT NULL);
"""
APPROVED = frozenset({"tok_visa", "tok_mastercard", "tok_slow", "tok_timeout", "tok_error_once"})


def create_app():
    app, store, timing = base_app("card"), Store(db_path("card"), SCHEMA), Timing.from_env()

    @app.post("/v1/charges")
    def charge():
        body = request.get_json(silent=True) or {}
        payment_id, token, amount = body.get("payment_id"), body.get("token"), body.get("amount_minor")
        if not isinstance(payment_id, str) or not isinstance(token, str) or type(amount) is not int or amount <= 0:
            return problem(422, "payment_id, token and a positive integer amount_minor are required")
        with store.write() as conn:
            calls = conn.execute(
                "INSERT INTO calls VALUES (?, 1) ON CONFLICT (payment_id) DO UPDATE "
                "SET calls = calls + 1 RETURNING calls",
                (payment_id,),
            ).fetchone()[0]
            row = conn.execute("SELECT * FROM charges WHERE payment_id = ?", (payment_id,)).fetchone()
            if row is None and (token == "tok_error" or token == "tok_error_once" and calls == 1):
                return problem(503, "scripted failure: nothing charged")
            if row is None:
                conn.execute("INSERT INTO charges VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _new_charge(body, timing))
                row = conn.execute("SELECT * FROM charges WHERE payment_id = ?", (payment_id,)).fetchone()
        if row["token"] == "tok_slow":
            time.sleep(timing.slow_s)
        elif row["token"] == "tok_timeout":
            time.sleep(timing.hang_s)  # the caller has given up long before: the money is taken all the same
        view = _view(row)
        return jsonify(view), 402 if view["status"] == "declined" else 201 if calls == 1 else 200

    @app.get("/v1/charges/<payment_id>")
    def lookup(payment_id: str):
        row = store.conn().execute("SELECT * FROM charges WHERE payment_id = ?", (payment_id,)).fetchone()
        return (jsonify(_view(row)), 200) if row else problem(404, "no charge for this payment", "charge_not_found")

    @app.get("/v1/charges")
    def listing():
        rows = (
            store.conn()
            .execute("SELECT charges.*, calls.calls FROM charges JOIN calls USING (payment_id) ORDER BY created_at")
            .fetchall()
        )
        return jsonify(charges=[{**_view(r), "calls": r["calls"]} for r in rows])

    @app.post("/v1/charges/<payment_id>/chargebacks")
    def dispute(payment_id: str):
        reason = (request.get_json(silent=True) or {}).get("reason") or "fraudulent"
        with store.write() as conn:
            found = conn.execute("SELECT * FROM chargebacks WHERE payment_id = ?", (payment_id,)).fetchone()
            if found is not None:
                return jsonify(_chargeback_view(found)), 200
            row = conn.execute("SELECT * FROM charges WHERE payment_id = ?", (payment_id,)).fetchone()
            if row is None:
                return problem(404, "no charge for this payment")
            if settled_status(row, "declined") != "succeeded":
                return problem(409, "only a settled charge can be charged back")
            chargeback_id = "cb_" + payment_id.replace("-", "")[:24]
            conn.execute(
                "INSERT INTO chargebacks VALUES (?, ?, ?, ?, ?, ?)",
                (payment_id, chargeback_id, row["amount_minor"], row["currency"], str(reason)[:200], time.time()),
            )
            found = conn.execute("SELECT * FROM chargebacks WHERE payment_id = ?", (payment_id,)).fetchone()
        return jsonify(_chargeback_view(found)), 201

    @app.get("/v1/reports/charges")
    def charges_report():
        args = request.args
        return report_page(
            store.conn(), "charges", "payment_id", _view, cursor=args.get("cursor"), limit=args.get("limit")
        )

    @app.get("/v1/reports/chargebacks")
    def chargebacks_report():
        args = request.args
        return report_page(
            store.conn(),
            "chargebacks",
            "payment_id",
            _chargeback_view,
            cursor=args.get("cursor"),
            limit=args.get("limit"),
        )

    return app


def _new_charge(body: dict, timing: Timing) -> tuple:
    token, now = body["token"], time.time()
    if token in APPROVED:
        status, code, settles_at = "succeeded", None, None
    elif token == "tok_fail_later":
        status, code, settles_at = "processing", None, now + timing.later_s
    else:
        status, code, settles_at = "declined", "card_declined" if token == "tok_declined" else "invalid_token", None
    charge_id = "ch_" + body["payment_id"].replace("-", "")[:24]
    return (
        body["payment_id"],
        charge_id,
        token,
        body["amount_minor"],
        str(body.get("currency")),
        status,
        code,
        settles_at,
        now,
    )


def _view(row) -> dict:
    status = settled_status(row, "declined")
    return {
        "payment_id": row["payment_id"],
        "charge_id": row["charge_id"],
        "status": status,
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "decline_code": row["decline_code"] or ("card_declined" if status == "declined" else None),
    }


def _chargeback_view(row) -> dict:
    return {
        "chargeback_id": row["chargeback_id"],
        "payment_id": row["payment_id"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "reason": row["reason"],
    }


def __getattr__(name: str):
    if name != "app":
        raise AttributeError(name)
    globals()["app"] = create_app()
    return globals()["app"]
