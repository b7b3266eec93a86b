"""Gifting: the gift catalog, coin wallets and their ledger, sending gifts, stream leaderboards.

Beyond the common layout (see `services`): `domain/model.py` also holds the catalog (the gifts and
their prices in coins); `adapters/repository.py` also holds the gift path's statements (the
whole gift in one statement on PostgreSQL, with the request's Idempotency-Key, compiled once and
sent straight to the driver, committing on its own: one round trip); `adapters/gift_batch.py` (a
batch of up to 1,000 gifts in a handful of set-wise statements, behind the batch repository) and
`entrypoints/consumer.py` (purchases credit wallets, chargebacks claw coins back).
"""
