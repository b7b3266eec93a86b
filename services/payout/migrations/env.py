"""Alembic environment for the payout service's database."""

from services.payout.adapters.orm import metadata
from shared.db.migrate import run_env

run_env(metadata, "PAYOUT_DATABASE_URL")
