"""The key claims PostgreSQL makes in one statement, for shared.idempotency_store and its callers.

- `claim_cte`: a data-modifying CTE that claims the key, done, once per row of the effect's own
  statement (no row, no claim; a key already taken fails the whole statement on its primary
  key). A general tool for any effect that is one statement; today gifting's `send` (the gift,
  its ledger entry, its event and its key in one round trip). It stays here rather than in
  services.gifting: it writes the key table's row, whose layout and states are this design's,
  and shared.idempotency_attempts runs the other half of its contract (`Claim.in_statement`,
  `render_again`).
- `settle`: claim a key with its answer, done, only if no other transaction is claiming it right
  now (`pg_try_advisory_xact_lock` on the key: no waiting on its row).
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shared.driver_sql import DriverStatement
from shared.idempotency import DONE, KeyedRequest


def claim_cte(table: sa.Table, source) -> sa.CTE:
    """INSERT the key's row, done, once per row of `source` (the effect's CTE: no row, no claim),
    with the bind values of `Claim.params`. A key already taken makes the whole statement fail on
    the primary key: nothing of it stays."""
    now = sa.bindparam("k_now", type_=table.c.created_at.type)
    return (
        table.insert()
        .from_select(
            [
                "caller",
                "key",
                "request_hash",
                "state",
                "owner",
                "resource_id",
                "lease_until",
                "created_at",
                "response_status",
                "completed_at",
            ],
            sa.select(
                sa.bindparam("k_caller", type_=sa.String),
                sa.bindparam("k_key", type_=sa.String),
                sa.bindparam("k_request_hash", type_=sa.String),
                sa.literal(DONE, sa.String),
                sa.bindparam("k_owner", type_=sa.String),
                sa.bindparam("k_resource_id", type_=sa.String),
                now,
                now,
                sa.bindparam("k_status", type_=sa.Integer),
                now,
            ).select_from(source),
        )
        .cte("claim")
    )


_SETTLE = DriverStatement(
    sa.text(
        "INSERT INTO idempotency_keys (caller, key, request_hash, state, owner, resource_id, lease_until, created_at, "
        "response_status, response_body, completed_at) "
        "SELECT :caller, :key, :request_hash, 'done', :owner, :resource_id, :now, :now, :response_status, "
        ":response_body, :now WHERE pg_try_advisory_xact_lock(:lock) "
        "ON CONFLICT (caller, key) DO NOTHING RETURNING key"
    )
)


def settle(conn: Connection, request: KeyedRequest, values: dict, now) -> bool:
    """Insert the key's row, done, with `values` (the columns but state and times); False if a row
    exists or another transaction holds the key's advisory lock (it is claiming it uncommitted)."""
    return _SETTLE(conn, {**values, "now": now, "lock": _lock_id(request)}).first() is not None


def _lock_id(request: KeyedRequest) -> int:
    """The key's advisory lock: a signed 64-bit hash of (caller, key)."""
    digest = hashlib.blake2b(json.dumps([request.caller, request.key]).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
