"""initial schema

Revision ID: 0001
Revises: 

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from shared.db import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('idempotency_keys',
    sa.Column('caller', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('lease_until', UTCDateTime(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('completed_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('in_flight', 'done')", name='ck_idempotency_state'),
    sa.PrimaryKeyConstraint('caller', 'key')
    )
    op.create_table('inbox',
    sa.Column('consumer', sa.String(length=100), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('processed_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('message_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('trace_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_outbox_unpublished', ['id'], unique=False, postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))

    op.create_table('wallets',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('balance_coins', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('debt_coins', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('version', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('balance_coins = 0 OR debt_coins = 0', name='ck_wallets_balance_or_debt'),
    sa.CheckConstraint('balance_coins >= 0', name='ck_wallets_balance_not_negative'),
    sa.CheckConstraint('debt_coins >= 0', name='ck_wallets_debt_not_negative'),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('gifts',
    sa.Column('gift_tx_id', sa.String(length=36), nullable=False),
    sa.Column('idempotency_key', sa.String(length=400), nullable=True),
    sa.Column('sender_id', sa.String(length=64), nullable=False),
    sa.Column('creator_id', sa.String(length=64), nullable=False),
    sa.Column('gift_id', sa.String(length=40), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('coins_each', sa.BigInteger(), nullable=False),
    sa.Column('total_coins', sa.BigInteger(), nullable=False),
    sa.Column('diamonds', sa.BigInteger(), nullable=False),
    sa.Column('stream_id', sa.String(length=64), nullable=True),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('balance_after >= 0', name='ck_gifts_balance_after'),
    sa.CheckConstraint('coins_each > 0 AND total_coins = coins_each * quantity', name='ck_gifts_total'),
    sa.CheckConstraint('diamonds > 0', name='ck_gifts_diamonds'),
    sa.CheckConstraint('quantity BETWEEN 1 AND 99', name='ck_gifts_quantity'),
    sa.CheckConstraint('sender_id <> creator_id', name='ck_gifts_not_self'),
    sa.ForeignKeyConstraint(['sender_id'], ['wallets.user_id'], ),
    sa.PrimaryKeyConstraint('gift_tx_id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.create_index('ix_gifts_stream_sender', ['stream_id', 'sender_id'], unique=False)

    op.create_table('wallet_entries',
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('delta_coins', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'purchase' AND delta_coins > 0) OR (kind <> 'purchase' AND delta_coins < 0)", name='ck_wallet_entries_sign'),
    sa.CheckConstraint("kind IN ('purchase', 'gift', 'chargeback')", name='ck_wallet_entries_kind'),
    sa.ForeignKeyConstraint(['user_id'], ['wallets.user_id'], ),
    sa.PrimaryKeyConstraint('entry_id'),
    sa.UniqueConstraint('kind', 'reference', name='uq_wallet_entries_kind_reference')
    )
    with op.batch_alter_table('wallet_entries', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_entries_user', ['user_id', 'entry_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('wallet_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_wallet_entries_user')

    op.drop_table('wallet_entries')
    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.drop_index('ix_gifts_stream_sender')

    op.drop_table('gifts')
    op.drop_table('wallets')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_unpublished', postgresql_where=sa.text('published_at IS NULL'), sqlite_where=sa.text('published_at IS NULL'))
        batch_op.drop_index('ix_outbox_created_at')

    op.drop_table('outbox')
    op.drop_table('inbox')
    op.drop_table('idempotency_keys')
