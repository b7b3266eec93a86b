"""What the HTTP edge needs from a service (`Infra`), and the running app's."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from shared.auth.verifier import TokenVerifier
from shared.settings import CommonSettings


@dataclass
class Infra:
    """What the edge needs from a service: its settings, database and infrastructure tables."""

    settings: CommonSettings
    engine: Engine
    tables: dict[str, sa.Table]
    collectors: list = field(default_factory=list)
    verifier: TokenVerifier | None = None  # built from settings.auth by create_app


def infra() -> Infra:
    return current_app.extensions["coins"]
