"""Payout: creators, their earnings in diamonds, withdrawals, the payout processor adapter."""
