"""Counters of the outbox and inbox rows retention prunes, per topic (for the auditor).

Revision ID: 0003
Revises: 0002

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('pruned_events',
                    sa.Column('topic', sa.String(length=200), nullable=False),
                    sa.Column('outbox_rows', sa.BigInteger(), server_default='0', nullable=False),
                    sa.Column('inbox_rows', sa.BigInteger(), server_default='0', nullable=False),
                    sa.CheckConstraint('outbox_rows >= 0 AND inbox_rows >= 0', name='ck_pruned_events_counts'),
                    sa.PrimaryKeyConstraint('topic'))


def downgrade() -> None:
    op.drop_table('pruned_events')
