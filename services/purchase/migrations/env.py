"""Alembic environment for the purchase service's database."""

from services.purchase.adapters.orm import metadata
from shared.db.migrate import run_env

run_env(metadata, "PURCHASE_DATABASE_URL")
