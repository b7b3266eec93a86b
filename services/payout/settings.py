"""The payout service's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.payout.domain.rules import Fee, PayoutPolicy, PayoutRules
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
    "ops": ("creators:read", "earnings:read", "withdrawals:read", "audit:read", "payout-holds:lift"),
}


@dataclass(frozen=True)
class PayoutSettings:
    common: CommonSettings
    rules: PayoutRules
    processor: OutboundSettings
    worker_lease_seconds: int = 60
    worker_idle_seconds: float = 0.2
    max_attempts: int = 5  # sends of one withdrawal to the processor; then only looked up, failed if none
    check_backoff_seconds: int = 5  # an unknown outcome's first lookup; doubling up to the max
    check_backoff_max_seconds: int = 300

    @property
    def worker_policy(self) -> PayoutPolicy:
        return PayoutPolicy(
            lease_seconds=self.worker_lease_seconds,
            max_attempts=self.max_attempts,
            deadline_seconds=self.processor.deadline_s,
            check_backoff_seconds=self.check_backoff_seconds,
            check_backoff_max_seconds=self.check_backoff_max_seconds,
        )

    @property
    def overdue_seconds(self) -> int:
        """A withdrawal in flight longer than this is reported by the auditor: every attempt gets
        a lease, the wait for its send to land and the lookups' backoff, and one more lease."""
        per_attempt = self.worker_lease_seconds + self.processor.deadline_s + self.check_backoff_max_seconds
        return int(per_attempt * (self.max_attempts + 1) + self.worker_lease_seconds)


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
        method_change_hold_seconds=env.int("PAYOUT_METHOD_CHANGE_HOLD_HOURS", 24) * 3600,
    )
    if not 0 <= rules.method_change_hold_seconds <= 30 * 24 * 3600:
        raise ConfigError("PAYOUT_METHOD_CHANGE_HOLD_HOURS must be between 0 and 720")
    if rules.diamonds_per_usd <= 0:
        raise ConfigError("PAYOUT_DIAMONDS_PER_USD must be positive")
    common = common_settings("payout", DEFAULT_POLICY, environ)
    settings = PayoutSettings(
        common=common,
        rules=rules,
        processor=processor_settings(env, "PAYOUT", default_port=8005, environment=common.environment),
        worker_lease_seconds=env.int("PAYOUT_WORKER_LEASE_SECONDS", 60),
        max_attempts=env.int("PAYOUT_MAX_ATTEMPTS", 5),
        check_backoff_seconds=env.int("PAYOUT_CHECK_BACKOFF_SECONDS", 5),
        check_backoff_max_seconds=env.int("PAYOUT_CHECK_BACKOFF_MAX_SECONDS", 300),
    )
    # A send must end (answered or given up) before its claim lapses and another worker may claim it:
    # the lease renewed right before a send then covers the whole send.
    if settings.processor.deadline_s >= settings.worker_lease_seconds:
        raise ConfigError(
            f"PAYOUT_WORKER_LEASE_SECONDS ({settings.worker_lease_seconds}) must exceed the payout "
            f"processor's deadline ({settings.processor.deadline_s:g} s)"
        )
    if settings.max_attempts < 1:
        raise ConfigError("PAYOUT_MAX_ATTEMPTS must be at least 1")
    if not 0 < settings.check_backoff_seconds <= settings.check_backoff_max_seconds:
        raise ConfigError("PAYOUT_CHECK_BACKOFF_SECONDS must be positive and at most PAYOUT_CHECK_BACKOFF_MAX_SECONDS")
    return settings
