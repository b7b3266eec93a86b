"""Databases that behave the same on PostgreSQL and SQLite: engines, column types, transactions and
which errors are transient (`engines`), portable upserts and array batches (`upserts`,
`pg_arrays`), the infrastructure tables every service has and their migrations (`tables`,
`infra_migrations`), Alembic driven from code (`migrate`), retention of those tables
(`retention`), and the reads the auditor's figures and ops listings share (`reads`).

May import: the core modules, `observability` and `kafka` (retention checks the topics' own).
"""
