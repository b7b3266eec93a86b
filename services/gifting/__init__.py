"""Gifting: the gift catalog, coin wallets and their ledger, sending gifts, stream leaderboards.

Beyond the common layout (see `services`): `domain/catalog.py` (the gifts and their prices in
coins), `adapters/gift_statement.py` (the gift path's statements: the whole gift in one statement
on PostgreSQL, behind the gift repository's `send`) and `entrypoints/consumer.py` (purchases
credit wallets, chargebacks claw coins back).
"""
