"""The sandbox payout processor: `gunicorn sandboxes.payout:app` (started by `coinsctl stack`).

POST /v1/payouts {payout_id, net_minor, currency, method, account} pays once per payout_id (a
repeat answers with the first payout); GET /v1/payouts/<payout_id> looks one up; GET
/v1/payouts lists them all (for tests); GET /v1/reports/payouts is the settlement report a real
processor offers (PayPal's payouts report), paged by `cursor`. What an account scripts, by how it
starts (any case):

    fail...     failed (account_rejected)         slow...     paid after SANDBOX_SLOW_MS
    timeout...  paid, the answer comes after SANDBOX_HANG_MS
    error...    503, nothing paid, every time     flaky...    503 the first time, then paid
    late...     "processing"; failed once SANDBOX_LATER_MS have passed
    anything else: paid
"""

from __future__ import annotations

import time

from flask import jsonify, request

from sandboxes.common import Store, Timing, base_app, db_path, problem, report_page, settled_status

SCHEMA = """
CREATE TABLE IF NOT EXISTS payouts (
    payout_id TEXT PRIMARY KEY, reference TEXT NOT NULL, account TEXT NOT NULL, net_minor INTEGER NOT NULL,
    currency TEXT NOT NULL, status TEXT NOT NULL, failure_reason TEXT, settles_at REAL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS calls (payout_id TEXT PRIMARY KEY, calls INTEGER NOT NULL);
"""


def create_app():
    app, store, timing = base_app("payout"), Store(db_path("payout"), SCHEMA), Timing.from_env()

    @app.post("/v1/payouts")
    def pay():
        body = request.get_json(silent=True) or {}
        payout_id, account, net = body.get("payout_id"), body.get("account"), body.get("net_minor")
        if not isinstance(payout_id, str) or not isinstance(account, str) or type(net) is not int or net <= 0:
            return problem(422, "payout_id, account and a positive integer net_minor are required")
        script = account.lower()
        with store.write() as conn:
            calls = conn.execute(
                "INSERT INTO calls VALUES (?, 1) ON CONFLICT (payout_id) DO UPDATE "
                "SET calls = calls + 1 RETURNING calls",
                (payout_id,),
            ).fetchone()[0]
            row = conn.execute("SELECT * FROM payouts WHERE payout_id = ?", (payout_id,)).fetchone()
            if row is None and (script.startswith("error") or script.startswith("flaky") and calls == 1):
                return problem(503, "scripted failure: nothing paid")
            if row is None:
                conn.execute("INSERT INTO payouts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _new_payout(body, timing))
                row = conn.execute("SELECT * FROM payouts WHERE payout_id = ?", (payout_id,)).fetchone()
        if script.startswith("slow"):
            time.sleep(timing.slow_s)
        elif script.startswith("timeout"):
            time.sleep(timing.hang_s)  # the caller has given up long before: the payout is made all the same
        return jsonify(_view(row)), 201 if calls == 1 else 200

    @app.get("/v1/payouts/<payout_id>")
    def lookup(payout_id: str):
        row = store.conn().execute("SELECT * FROM payouts WHERE payout_id = ?", (payout_id,)).fetchone()
        return (jsonify(_view(row)), 200) if row else problem(404, "no payout with this id", "payout_not_found")

    @app.get("/v1/payouts")
    def listing():
        rows = (
            store.conn()
            .execute("SELECT payouts.*, calls.calls FROM payouts JOIN calls USING (payout_id) ORDER BY created_at")
            .fetchall()
        )
        return jsonify(payouts=[{**_view(r), "calls": r["calls"]} for r in rows])

    @app.get("/v1/reports/payouts")
    def payouts_report():
        args = request.args
        return report_page(
            store.conn(), "payouts", "payout_id", _view, cursor=args.get("cursor"), limit=args.get("limit")
        )

    return app


def _new_payout(body: dict, timing: Timing) -> tuple:
    script, now = body["account"].lower(), time.time()
    if script.startswith("fail"):
        status, reason, settles_at = "failed", "account_rejected", None
    elif script.startswith("late"):
        status, reason, settles_at = "processing", None, now + timing.later_s
    else:
        status, reason, settles_at = "paid", None, None
    reference = "po_" + body["payout_id"].replace("-", "")[:24]
    return (
        body["payout_id"],
        reference,
        body["account"],
        body["net_minor"],
        str(body.get("currency")),
        status,
        reason,
        settles_at,
        now,
    )


def _view(row) -> dict:
    status = settled_status(row, "failed")
    return {
        "payout_id": row["payout_id"],
        "reference": row["reference"],
        "status": status,
        "net_minor": row["net_minor"],
        "currency": row["currency"],
        "failure_reason": row["failure_reason"] or ("account_closed" if status == "failed" else None),
    }


def __getattr__(name: str):
    if name != "app":
        raise AttributeError(name)
    globals()["app"] = create_app()
    return globals()["app"]
