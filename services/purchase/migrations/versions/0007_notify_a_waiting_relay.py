"""The outbox notifies its relay only while the relay waits for a commit

A NOTIFY takes PostgreSQL's notify lock at commit until the commit is flushed, so notifying commits
wait for each other; a busy relay fetches again by itself (shared.db.infra_migrations).

Revision ID: 0007_notify_a_waiting_relay
Revises: 0006_outbox_wakeup_and_cdc

"""

from collections.abc import Sequence

from alembic import op

from shared.db.infra_migrations import outbox_notifies_every_commit, outbox_notifies_only_a_waiting_relay

revision: str = "0007_notify_a_waiting_relay"
down_revision: str | Sequence[str] | None = "0006_outbox_wakeup_and_cdc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    outbox_notifies_only_a_waiting_relay(op)


def downgrade() -> None:
    outbox_notifies_every_commit(op)
