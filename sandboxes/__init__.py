"""Sandbox processors: test doubles of the card and payout processors, each its own HTTP service."""
