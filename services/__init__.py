"""The three services of the coins platform; each owns its database and talks only via Kafka.

Every service package has the same files for the same roles, so a reader who knows one knows
all three (tests/unit/test_service_layout.py holds them to it):

    settings.py                  the environment, read once into a frozen object (`load_settings`)
    bootstrap.py                 `bootstrap()` wires settings, engine and adapters into `<Name>Service`
    api/views.py, api/schemas.py routes on the module's blueprint `bp`, one function each: parse
                                 with a schema, call a handler with a unit of work from
                                 `service()` (the app's `<Name>Service`), dump a schema
    domain/model.py              the aggregates; commands.py (what is asked), errors.py (why refused),
                                 rules.py (`<Name>Rules`, the configurable business rules)
    service_layer/handlers.py    use cases: `handler(what, *, uow, **dependencies)`
    service_layer/unit_of_work.py  `AbstractUnitOfWork` (what handlers know) and
                                 `SqlAlchemyUnitOfWork` (production); the fakes are in tests/fakes
    adapters/orm.py              tables; repository.py (abstract ports and their SQLAlchemy
                                 adapters); queries.py (read-only totals for the auditor)
    entrypoints/wsgi.py          the web app; relay.py (the outbox relay)
    migrations/                  the schema, with alembic

What only one or two services need is named in their package's docstring.
"""
