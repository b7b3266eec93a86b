"""Gifting: the gift catalog, coin wallets and their ledger, sending gifts, stream leaderboards.

Beyond the common layout (see `services`): `domain/catalog.py` (the gifts and their prices in
coins) and `entrypoints/consumer.py` (purchases credit wallets, chargebacks claw coins back).
"""
