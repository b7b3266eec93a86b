"""Each service's migrations are one line of history (a single head, whatever branches they were
written on), and a fresh database migrated to it has the schema the ORM declares."""

from __future__ import annotations

from importlib import import_module

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from shared.credentials import SERVICES
from shared.db.engines import make_engine
from shared.db.migrate import alembic_config, is_current, upgrade

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
@pytest.mark.parametrize("service", SERVICES)
def test_one_head_per_service_and_the_migrated_schema_is_what_the_orm_declares(service, backend, pg_url, tmp_path):
    url = pg_url(service) if backend == "postgres" else f"sqlite:///{tmp_path}/{service}.db"
    assert len(ScriptDirectory.from_config(alembic_config(service, url)).get_heads()) == 1
    assert not is_current(service, url)
    upgrade(service, url)
    assert is_current(service, url)
    metadata = import_module(f"services.{service}.adapters.orm").metadata
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
            migrated = sa.inspect(conn)
            checks = {  # compare_metadata does not compare CHECK constraints: the rules the code assumes
                table.name: (
                    sorted(c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)),
                    sorted(c["name"] for c in migrated.get_check_constraints(table.name)),
                )
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()
    assert differences == []
    assert {table: pair for table, pair in checks.items() if pair[0] != pair[1]} == {}
    assert any(declared for declared, _ in checks.values())  # the comparison saw the service's checks
