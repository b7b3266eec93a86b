"""The purchase service's settings, read once from the environment."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from services.purchase.domain.rules import PurchaseRules
from shared.settings import CommonSettings, Env, common_settings

DEFAULT_POLICY = {
    "gateway": ("users:any", "packages:read", "purchases:create", "purchases:read", "purchases:refund"),
    "app": ("packages:read", "purchases:read"),
    "processor": ("chargebacks:create", "purchases:read"),
    "ops": ("packages:read", "purchases:read", "audit:read"),
}
# Sanctioned or otherwise unserved markets; override with PURCHASE_BLOCKED_COUNTRIES.
DEFAULT_BLOCKED_COUNTRIES = "CU,IR,KP,SY,RU,BY"


@dataclass(frozen=True)
class PurchaseSettings:
    common: CommonSettings
    rules: PurchaseRules


def load_settings(environ: Mapping[str, str] | None = None) -> PurchaseSettings:
    env = Env(environ)
    age_by_country = {k.upper(): int(v) for k, v in env.json("PURCHASE_MIN_AGE_BY_COUNTRY", {"KR": 19}).items()}
    rules = PurchaseRules(
        blocked_countries=frozenset(c.upper() for c in env.list("PURCHASE_BLOCKED_COUNTRIES",
                                                                 DEFAULT_BLOCKED_COUNTRIES)),
        daily_cap_coins=env.int("PURCHASE_DAILY_CAP_COINS", 2_500_000),
        min_age=env.int("PURCHASE_MIN_AGE", 18),
        min_age_by_country=age_by_country)
    return PurchaseSettings(common=common_settings("purchase", DEFAULT_POLICY, environ), rules=rules)
