"""Gifting's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.gifting.domain.rules import GiftingRules
from shared.env import Env
from shared.settings import CommonSettings, common_settings

# Which callers may do what on this service (override with GIFTING_AUTH_POLICY as JSON).
DEFAULT_POLICY = {
    "gateway": ("users:any", "catalog:read", "wallets:read", "gifts:send", "gifts:send-batch", "leaderboards:read"),
    "live": ("catalog:read", "wallets:read", "gifts:send", "gifts:send-batch", "leaderboards:read"),
    "app": ("catalog:read", "wallets:read", "leaderboards:read"),
    "ops": ("catalog:read", "wallets:read", "leaderboards:read", "audit:read"),
}


@dataclass(frozen=True)
class GiftingSettings:
    common: CommonSettings
    rules: GiftingRules = GiftingRules()


def load_settings(environ: Mapping[str, str] | None = None) -> GiftingSettings:
    env = Env(environ)
    return GiftingSettings(
        common=common_settings("gifting", DEFAULT_POLICY, environ),
        rules=GiftingRules(diamonds_per_coin=env.int("GIFTING_DIAMONDS_PER_COIN", 1)),
    )
