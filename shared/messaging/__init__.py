"""Events between services, exactly once in effect: the transactional outbox written with the
business change by the unit of work (`uow`), the relay that publishes it (`relay`,
`relay_floor`, and `relay_wakeup`: woken by the outbox's NOTIFY), and on the way in the idempotent
inbox (`inbox`) with the consumer loop around it (`consumer`, `consumer_offsets`) and the
dead-letter path (`dead_letters`). The event contracts themselves are the core module
`shared.contracts`.

May import: the core modules, `observability`, `kafka` and `db`.
"""
