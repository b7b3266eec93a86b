"""The web app's one wiring object as the edge sees it (`Wiring`), and how the edge reaches it.

Each service builds one container per process (`services/<name>/bootstrap.py`, `<Name>Service`:
settings, engine, tables, units of work, adapters); its web app's `create_app` keeps it as
`app.extensions["coins"]`, adds the token verifier, and every part of the request reaches it
through `wiring()`: the edge here, the views through their `service()`.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from shared.auth.tokens import TokenVerifier
from shared.settings import CommonSettings


class ServiceSettings(Protocol):
    common: CommonSettings  # what every service reads the same way (shared.settings)


class Wiring(Protocol):
    """What the edge reads from a service's container."""

    settings: ServiceSettings
    engine: Engine
    tables: dict[str, sa.Table]  # the service's tables, the infrastructure ones among them
    verifier: TokenVerifier | None  # set by create_app: only a web process verifies tokens


def wiring() -> Wiring:
    """The running app's service container."""
    return current_app.extensions["coins"]
