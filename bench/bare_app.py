"""B_flask: a bare Flask app with one JSON endpoint doing the baseline transaction (insert a row,
update a balance), served by gunicorn with the services' worker settings."""

from __future__ import annotations

import os
import random

import sqlalchemy as sa
from flask import Flask, jsonify, request

engine = sa.create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=8, max_overflow=8)
app = Flask(__name__)


@app.post("/op")
def op():
    body = request.get_json()
    account = random.randint(1, 1000)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO events (account, amount, payload) VALUES (:a, :n, :p)"),
            {"a": account, "n": int(body["amount"]), "p": body.get("note", "")},
        )
        balance = conn.execute(
            sa.text("UPDATE accounts SET balance = balance + :n WHERE id = :a RETURNING balance"),
            {"a": account, "n": int(body["amount"])},
        ).scalar()
    return jsonify(account=account, balance=balance), 201
