"""The purchase service's settings, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from services.purchase.domain.rules import PurchaseRules
from services.purchase.service_layer.reconcile import Schedule
from shared.env import ConfigError, Env
from shared.outbound import OutboundSettings
from shared.settings import DEFAULT_BLOCKED_COUNTRIES, CommonSettings, common_settings, processor_settings

DEFAULT_POLICY = {
    "gateway": ("users:any", "packages:read", "purchases:create", "purchases:read", "purchases:refund"),
    "app": ("packages:read", "purchases:read"),
    "processor": ("chargebacks:create", "purchases:read"),
    "ops": ("packages:read", "purchases:read", "audit:read"),
}


@dataclass(frozen=True)
class PurchaseSettings:
    common: CommonSettings
    rules: PurchaseRules
    processor: OutboundSettings
    # A pending purchase is first looked up this long after it was made; "no charge found"
    # declines it only once its last charge attempt is this old.
    reconcile_after_seconds: int = 120
    reconcile_every_seconds: float = 5.0
    # After a lookup that settled nothing, the next one waits this long, doubling up to the cap.
    reconcile_backoff_seconds: float = 5.0
    reconcile_backoff_max_seconds: int = 60

    @property
    def claim_for(self) -> timedelta:
        """How long the request charging a purchase, or a reconciler looking it up, holds it: the
        key's lease, which outlasts the processor's full deadline (checked at load)."""
        return timedelta(seconds=self.common.idempotency_lease_seconds)

    @property
    def schedule(self) -> Schedule:
        return Schedule(
            not_charged_after=timedelta(seconds=self.reconcile_after_seconds),
            backoff=timedelta(seconds=self.reconcile_backoff_seconds),
            backoff_cap=timedelta(seconds=self.reconcile_backoff_max_seconds),
            claim_for=self.claim_for,
        )

    @property
    def overdue_seconds(self) -> float:
        """A purchase pending longer than this after its last charge attempt is reported by the
        auditor: the reconciler's bound, then a sweep and a lookup that may each take their time."""
        return self.reconcile_after_seconds + 2 * self.reconcile_every_seconds + self.processor.deadline_s


def load_settings(environ: Mapping[str, str] | None = None) -> PurchaseSettings:
    env = Env(environ)
    age_by_country = {k.upper(): int(v) for k, v in env.json("PURCHASE_MIN_AGE_BY_COUNTRY", {"KR": 19}).items()}
    rules = PurchaseRules(
        blocked_countries=frozenset(
            c.upper() for c in env.list("PURCHASE_BLOCKED_COUNTRIES", DEFAULT_BLOCKED_COUNTRIES)
        ),
        daily_cap_coins=env.int("PURCHASE_DAILY_CAP_COINS", 2_500_000),
        min_age=env.int("PURCHASE_MIN_AGE", 18),
        min_age_by_country=age_by_country,
    )
    common = common_settings("purchase", DEFAULT_POLICY, environ)
    settings = PurchaseSettings(
        common=common,
        rules=rules,
        processor=processor_settings(env, "PURCHASE", default_port=8004, environment=common.environment),
        reconcile_after_seconds=env.int("PURCHASE_RECONCILE_AFTER_SECONDS", 120),
        reconcile_every_seconds=env.int("PURCHASE_RECONCILE_EVERY_MS", 5000) / 1000,
        reconcile_backoff_seconds=env.int("PURCHASE_RECONCILE_BACKOFF_MS", 5000) / 1000,
        reconcile_backoff_max_seconds=env.int("PURCHASE_RECONCILE_BACKOFF_MAX_SECONDS", 60),
    )
    # A charge must end (answered or given up) while its attempt still holds the key, and long
    # before the reconciler may decide that no charge was made.
    if settings.processor.deadline_s >= common.idempotency_lease_seconds:
        raise ConfigError(
            f"IDEMPOTENCY_LEASE_SECONDS ({common.idempotency_lease_seconds}) must exceed the card "
            f"processor's deadline ({settings.processor.deadline_s:g} s: PURCHASE_PROCESSOR_"
            f"TIMEOUT_MS x _ATTEMPTS)"
        )
    if settings.reconcile_after_seconds <= common.idempotency_lease_seconds:
        raise ConfigError("PURCHASE_RECONCILE_AFTER_SECONDS must exceed IDEMPOTENCY_LEASE_SECONDS")
    if not 0 < settings.reconcile_backoff_seconds <= settings.reconcile_backoff_max_seconds:
        raise ConfigError(
            "PURCHASE_RECONCILE_BACKOFF_MS must be positive and at most PURCHASE_RECONCILE_BACKOFF_MAX_SECONDS"
        )
    return settings
