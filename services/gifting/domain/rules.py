"""What a creator earns from a gift: diamonds per coin gifted (1 by default)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GiftingRules:
    diamonds_per_coin: int = 1

    def diamonds_for(self, coins: int) -> int:
        """The diamonds owed to the creator for `coins` gifted."""
        return coins * self.diamonds_per_coin
