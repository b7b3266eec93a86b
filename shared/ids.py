"""Identifiers the services make: UUIDs whose first 48 bits are the creation time in milliseconds
(version 7, RFC 9562, from the `uuid6` package).

Ids made one after another sort one after another, so a row keyed by one (a gift, its ledger
entry's reference, an event in the outbox and in a consumer's inbox, an earning) lands at the
right edge of its B-tree index instead of on a random page: under load each insert touches the
same few hot pages, and after a checkpoint PostgreSQL writes a page image to the WAL for far
fewer pages. They are still UUIDs to every reader, and still unguessable (74 random bits).
"""

from __future__ import annotations

from uuid6 import uuid7


def new_id() -> str:
    """A new time-ordered UUID (version 7), as text."""
    return str(uuid7())
