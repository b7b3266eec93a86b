"""The payout service's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.payout.domain.rules import Fee, PayoutRules
from shared.env import ConfigError, Env
from shared.outbound import OutboundSettings
from shared.settings import DEFAULT_BLOCKED_COUNTRIES, CommonSettings, common_settings, processor_settings

DEFAULT_POLICY = {
    "gateway": (
        "users:any",
        "creators:write",
        "payout-methods:write",
        "creators:read",
        "earnings:read",
        "withdrawals:create",
        "withdrawals:read",
    ),
    "app": ("creators:read", "earnings:read", "withdrawals:read"),
    "ops": ("creators:read", "earnings:read", "withdrawals:read", "audit:read"),
}


@dataclass(frozen=True)
class PayoutSettings:
    common: CommonSettings
    rules: PayoutRules
    processor: OutboundSettings
    worker_batch: int = 50
    worker_lease_seconds: int = 60
    worker_idle_seconds: float = 0.2
    max_attempts: int = 5  # sends of one withdrawal to the processor before it is failed

    @property
    def overdue_seconds(self) -> int:
        """A withdrawal in flight longer than this is reported by the auditor: every attempt and
        the final lookup each get a lease, and one more for the worker to come round."""
        return self.worker_lease_seconds * (self.max_attempts + 3)


def _fee(env: Env, method: str, bps: int, fixed: int) -> Fee:
    fee = Fee(
        basis_points=env.int(f"PAYOUT_FEE_{method.upper()}_BPS", bps),
        fixed_minor=env.int(f"PAYOUT_FEE_{method.upper()}_FIXED_MINOR", fixed),
    )
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
        fees={"bank": _fee(env, "bank", 0, 0), "paypal": _fee(env, "paypal", 200, 25)},
        blocked_countries=frozenset(c.upper() for c in env.list("PAYOUT_BLOCKED_COUNTRIES", DEFAULT_BLOCKED_COUNTRIES)),
    )
    if rules.diamonds_per_usd <= 0:
        raise ConfigError("PAYOUT_DIAMONDS_PER_USD must be positive")
    common = common_settings("payout", DEFAULT_POLICY, environ)
    settings = PayoutSettings(
        common=common,
        rules=rules,
        processor=processor_settings(env, "PAYOUT", default_port=8005, environment=common.environment),
        worker_batch=env.int("PAYOUT_WORKER_BATCH", 50),
        worker_lease_seconds=env.int("PAYOUT_WORKER_LEASE_SECONDS", 60),
        max_attempts=env.int("PAYOUT_MAX_ATTEMPTS", 5),
    )
    # A send must end (answered or given up) before its claim lapses and another worker sends again.
    if settings.processor.deadline_s >= settings.worker_lease_seconds:
        raise ConfigError(
            f"PAYOUT_WORKER_LEASE_SECONDS ({settings.worker_lease_seconds}) must exceed the payout "
            f"processor's deadline ({settings.processor.deadline_s:g} s)"
        )
    if settings.max_attempts < 1:
        raise ConfigError("PAYOUT_MAX_ATTEMPTS must be at least 1")
    return settings
