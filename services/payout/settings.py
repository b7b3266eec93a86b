"""The payout service's settings, read once from the environment."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from services.payout.domain.rules import Fee, PayoutRules
from shared.settings import CommonSettings, ConfigError, Env, common_settings

DEFAULT_POLICY = {
    "gateway": ("users:any", "creators:write", "payout-methods:write", "creators:read", "earnings:read",
                "withdrawals:create", "withdrawals:read"),
    "app": ("creators:read", "earnings:read", "withdrawals:read"),
    "ops": ("creators:read", "earnings:read", "withdrawals:read", "audit:read"),
}


@dataclass(frozen=True)
class PayoutSettings:
    common: CommonSettings
    rules: PayoutRules
    worker_batch: int = 50
    worker_lease_seconds: int = 60
    worker_idle_seconds: float = 0.2


def _fee(env: Env, method: str, bps: int, fixed: int) -> Fee:
    fee = Fee(basis_points=env.int(f"PAYOUT_FEE_{method.upper()}_BPS", bps),
              fixed_minor=env.int(f"PAYOUT_FEE_{method.upper()}_FIXED_MINOR", fixed))
    if fee.basis_points < 0 or fee.fixed_minor < 0:
        raise ConfigError(f"PAYOUT_FEE_{method.upper()}_* must not be negative")
    return fee


def load_settings(environ: Mapping[str, str] | None = None) -> PayoutSettings:
    env = Env(environ)
    rules = PayoutRules(
        min_withdrawal_minor=env.int("PAYOUT_MIN_WITHDRAWAL_MINOR", 10_000),
        daily_cap_minor=env.int("PAYOUT_DAILY_CAP_MINOR", 100_000),
        diamonds_per_usd=env.int("PAYOUT_DIAMONDS_PER_USD", 200),
        hold_seconds=env.int("PAYOUT_HOLD_SECONDS", 0),
        min_age=env.int("PAYOUT_MIN_AGE", 18),
        fees={"bank": _fee(env, "bank", 0, 0), "paypal": _fee(env, "paypal", 200, 25)})
    if rules.diamonds_per_usd <= 0:
        raise ConfigError("PAYOUT_DIAMONDS_PER_USD must be positive")
    return PayoutSettings(common=common_settings("payout", DEFAULT_POLICY, environ), rules=rules,
                          worker_batch=env.int("PAYOUT_WORKER_BATCH", 50),
                          worker_lease_seconds=env.int("PAYOUT_WORKER_LEASE_SECONDS", 60))
