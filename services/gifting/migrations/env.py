"""Alembic environment for the gifting service's database."""

from services.gifting.adapters.orm import metadata
from shared.db.migrate import run_env

run_env(metadata, "GIFTING_DATABASE_URL")
