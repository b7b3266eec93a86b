"""Events between services, exactly once in effect: the transactional outbox written with the
business change by the unit of work (`uow`), the relay that publishes it (`relay`, and
`relay_wakeup`: woken by the outbox's NOTIFY), and on the way in the idempotent inbox (`inbox`)
with the consumer loop around it (`consumer`: polling, offsets, the dead-letter path, the stall
watchdog). The event contracts themselves are the core module `shared.contracts`.

May import: the core modules, `observability`, `kafka` and `db`.
"""
