"""Gifting: the gift catalog, coin wallets and their ledger, sending gifts, stream leaderboards."""
