"""Reading configuration from the environment, in one place, into frozen objects.

Each service builds its own settings object from `CommonSettings` plus its own rules;
nothing else in the code base reads `os.environ`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the process refuses to start."""


class Env:
    """Typed access to an environment mapping, with errors that name the variable."""

    def __init__(self, environ: Mapping[str, str] | None = None):
        self._env = os.environ if environ is None else environ

    def str(self, name: str, default: str | None = None) -> str:
        value = self._env.get(name)
        if value is None or value == "":
            if default is None:
                raise ConfigError(f"{name} must be set")
            return default
        return value

    def optional(self, name: str) -> str | None:
        value = self._env.get(name)
        return value if value else None

    def int(self, name: str, default: int) -> int:
        raw = self._env.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc

    def list(self, name: str, default: str = "") -> tuple[str, ...]:
        """Comma-separated items; unset or empty means the default (an empty list is never implied)."""
        raw = self._env.get(name) or default
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def json(self, name: str, default):
        raw = self._env.get(name)
        if not raw:
            return default
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} must be JSON: {exc}") from exc


# Sanctioned or otherwise unserved markets: no purchases, no creator payouts. Override with
# PURCHASE_BLOCKED_COUNTRIES / PAYOUT_BLOCKED_COUNTRIES; set empty, a variable means this list.
DEFAULT_BLOCKED_COUNTRIES = "CU,IR,KP,SY,RU,BY"


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic_prefix: str = ""
    session_timeout_ms: int = 10_000
    batch_size: int = 1000
    # How long a fetch may wait for data. Apache Kafka answers as soon as there is any; the local
    # broker (Tansu) holds a fetch that found none for this long even if data arrives meanwhile, so
    # there it is also the cadence of a consumer's batches: longer, fewer and larger. 100 ms: the
    # end-to-end p99 at half the gift rate ~80 ms (200 ms: ~150-200) for ~0.03 ms more consumer CPU a gift.
    fetch_max_wait_ms: int = 100
    # How long an outbox relay lets its next batch fill after a partial one: fewer, larger batches
    # under load (each costs a query, a flush, a produce request, a mark) for a few ms of latency.
    # 20 ms: the relay hop's p99 ~30 ms at half the gift rate; 10 ms saves ~10 ms there for ~0.05 ms
    # more relay and broker CPU a gift at full rate.
    linger_ms: int = 20
    # The same for a consumer, once its first records are there. Short: the relay's batches already
    # reach it whole, so waiting longer adds latency and saves next to nothing.
    consumer_linger_ms: int = 2
    # How often a consumer commits its offsets: after the batch that follows this much time since
    # the last commit, and whenever a poll finds nothing. A crash re-reads what was applied since;
    # the inbox dedupes it. 0: after every batch.
    commit_interval_ms: int = 500
    watchdog_s: int = 120  # a consumer whose poll has not returned for this long exits to be restarted
    # How the clients authenticate: PLAINTEXT (the open local broker) or SASL_PLAINTEXT / SASL_SSL
    # with SCRAM, as Apache Kafka with ACLs wants (each service its own principal).
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


@dataclass(frozen=True)
class AuthSettings:
    # This service's name in a token's `aud`.
    audience: str
    # The callers' public keys: <keys_dir>/<caller>/<kid>.pem (shared.keys); None: no caller can call.
    keys_dir: Path | None = None
    retired_keys: frozenset[str] = frozenset()
    # caller -> permissions it holds on this service
    policy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    max_token_seconds: int = 900  # exp - iat
    leeway_seconds: int = 30  # clock skew allowed on exp, iat and nbf


@dataclass(frozen=True)
class CommonSettings:
    service: str
    database_url: str
    kafka: KafkaSettings
    auth: AuthSettings
    log_level: str = "INFO"
    max_body_bytes: int = 1024 * 1024
    idempotency_lease_seconds: int = 60
    consumer_group: str = ""
    environment: str = "production"  # COINS_ENV; see deployment_environment
    # Connections each process keeps to its database, and how many more it may open at a peak.
    # Per web worker; size it with GUNICORN_THREADS, and pods x workers x (size + overflow) below
    # the server's max_connections.
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # A relay, consumer or worker serves /metrics and its probes here (0: not served).
    metrics_port: int = 0
    # A background process whose loop has not come round for this long reports itself not live.
    stall_seconds: int = 120

    @property
    def local_or_test(self) -> bool:
        return self.environment in LOCAL_ENVIRONMENTS


def kafka_settings(environ: Mapping[str, str] | None = None) -> KafkaSettings:
    """Brokers, topic prefix and consumer tuning from the environment."""
    env = Env(environ)
    return KafkaSettings(
        bootstrap_servers=env.str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        topic_prefix=env.str("KAFKA_TOPIC_PREFIX", ""),
        session_timeout_ms=env.int("KAFKA_SESSION_TIMEOUT_MS", KafkaSettings.session_timeout_ms),
        batch_size=env.int("KAFKA_BATCH_SIZE", KafkaSettings.batch_size),
        fetch_max_wait_ms=env.int("KAFKA_FETCH_MAX_WAIT_MS", KafkaSettings.fetch_max_wait_ms),
        linger_ms=env.int("KAFKA_LINGER_MS", KafkaSettings.linger_ms),
        consumer_linger_ms=env.int("KAFKA_CONSUMER_LINGER_MS", KafkaSettings.consumer_linger_ms),
        commit_interval_ms=env.int("KAFKA_COMMIT_INTERVAL_MS", KafkaSettings.commit_interval_ms),
        watchdog_s=env.int("KAFKA_CONSUMER_WATCHDOG_SECONDS", KafkaSettings.watchdog_s),
        security_protocol=env.str("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
        sasl_mechanism=env.optional("KAFKA_SASL_MECHANISM"),
        sasl_username=env.optional("KAFKA_SASL_USERNAME"),
        sasl_password=_sasl_password(env),
    )


def _sasl_password(env: Env) -> str | None:
    """KAFKA_SASL_PASSWORD, or the file named by KAFKA_SASL_PASSWORD_FILE (a mounted secret)."""
    path = env.optional("KAFKA_SASL_PASSWORD_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"KAFKA_SASL_PASSWORD_FILE {path!r} cannot be read: {exc}") from exc
    return env.optional("KAFKA_SASL_PASSWORD")


def auth_settings(
    service: str, default_policy: Mapping[str, tuple[str, ...]], environ: Mapping[str, str] | None = None
) -> AuthSettings:
    """Who may call this service: the callers' public keys, the policy, the token rules."""
    env = Env(environ)
    for removed in ("COINS_AUTH_SECRET", "COINS_AUTH_SECRET_FILE", "COINS_AUTH_CALLER_KEYS"):
        if env.optional(removed):
            raise ConfigError(
                f"{removed} is no longer supported: shared-secret tokens let any caller mint "
                "another's; give each caller a key pair and set COINS_AUTH_KEYS_DIR"
            )
    policy = env.json(f"{service.upper()}_AUTH_POLICY", None)
    policy = default_policy if policy is None else policy
    if not isinstance(policy, dict) or not all(isinstance(p, list | tuple) for p in policy.values()):
        raise ConfigError(f"{service.upper()}_AUTH_POLICY must be a JSON object of caller -> [permissions]")
    keys_dir = env.optional("COINS_AUTH_KEYS_DIR")
    settings = AuthSettings(
        audience=env.str(f"{service.upper()}_AUTH_AUDIENCE", service),
        keys_dir=Path(keys_dir) if keys_dir else None,
        retired_keys=frozenset(env.list("COINS_AUTH_RETIRED_KEYS")),
        policy={caller: tuple(perms) for caller, perms in policy.items()},
        max_token_seconds=env.int("COINS_AUTH_MAX_TOKEN_SECONDS", 900),
        leeway_seconds=env.int("COINS_AUTH_LEEWAY_SECONDS", 30),
    )
    if not 0 < settings.max_token_seconds <= 3600:
        raise ConfigError("COINS_AUTH_MAX_TOKEN_SECONDS must be between 1 and 3600")
    if not 0 <= settings.leeway_seconds <= 300:
        raise ConfigError("COINS_AUTH_LEEWAY_SECONDS must be between 0 and 300")
    return settings


def database_url(service: str, environ: Mapping[str, str] | None = None) -> str:
    """<SERVICE>_DATABASE_URL, or a SQLite file under COINS_VAR_DIR (default ./var)."""
    env = Env(environ)
    default = f"sqlite:///{Path(env.str('COINS_VAR_DIR', 'var')).resolve()}/{service}.db"
    return env.str(f"{service.upper()}_DATABASE_URL", default)


def common_settings(
    service: str, default_policy: Mapping[str, tuple[str, ...]], environ: Mapping[str, str] | None = None
) -> CommonSettings:
    """Settings every service has. Per-service variables are prefixed, e.g. PURCHASE_DATABASE_URL."""
    env = Env(environ)
    prefix = service.upper()
    return CommonSettings(
        service=service,
        database_url=database_url(service, environ),
        kafka=kafka_settings(environ),
        auth=auth_settings(service, default_policy, environ),
        log_level=env.str("LOG_LEVEL", "INFO"),
        max_body_bytes=env.int("MAX_BODY_BYTES", 1024 * 1024),
        idempotency_lease_seconds=env.int("IDEMPOTENCY_LEASE_SECONDS", 60),
        consumer_group=env.str(f"{prefix}_CONSUMER_GROUP", f"{service}-consumer"),
        environment=deployment_environment(environ),
        db_pool_size=env.int("DATABASE_POOL_SIZE", CommonSettings.db_pool_size),
        db_max_overflow=env.int("DATABASE_MAX_OVERFLOW", CommonSettings.db_max_overflow),
        metrics_port=env.int("METRICS_PORT", 0),
        stall_seconds=env.int("PROCESS_STALL_SECONDS", CommonSettings.stall_seconds),
    )


# -- the deployment environment: the one switch that allows local/test-only wiring -----------------
LOCAL_ENVIRONMENTS = ("local", "test")


def deployment_environment(environ: Mapping[str, str] | None = None) -> str:
    """COINS_ENV: local, test or production (the default). Only local and test may run wiring
    that is unsafe in production (sandboxes, an empty policy, no caller keys)."""
    value = Env(environ).str("COINS_ENV", "production").lower()
    if value not in LOCAL_ENVIRONMENTS + ("production",):
        raise ConfigError(f"COINS_ENV must be local, test or production, got {value!r}")
    return value


def processor_settings(env: Env, prefix: str, *, default_port: int, environment: str):
    """Where the service's processor is (<PREFIX>_PROCESSOR_URL, _TIMEOUT_MS, _ATTEMPTS). Only the
    sandbox adapter exists; outside COINS_ENV=local|test (`environment`, see deployment_environment)
    it is refused unless <PREFIX>_PROCESSOR=sandbox asks for it."""
    from shared.outbound import OutboundSettings

    name = env.optional(f"{prefix}_PROCESSOR")
    if name is None and environment not in LOCAL_ENVIRONMENTS:
        raise ConfigError(
            f"COINS_ENV=production: set {prefix}_PROCESSOR; the sandbox processor is used in "
            f"production only when asked for by name ({prefix}_PROCESSOR=sandbox)"
        )
    if (name or "sandbox") != "sandbox":
        raise ConfigError(f"{prefix}_PROCESSOR must be 'sandbox' (the only adapter built), got {name!r}")
    settings = OutboundSettings(
        name="sandbox",
        url=env.str(f"{prefix}_PROCESSOR_URL", f"http://127.0.0.1:{default_port}"),
        timeout_ms=env.int(f"{prefix}_PROCESSOR_TIMEOUT_MS", 3000),
        attempts=env.int(f"{prefix}_PROCESSOR_ATTEMPTS", 2),
    )
    if settings.timeout_ms <= 0 or settings.attempts <= 0:
        raise ConfigError(f"{prefix}_PROCESSOR_TIMEOUT_MS and _ATTEMPTS must be positive")
    return settings


def retention_windows(environ: Mapping[str, str] | None = None, **overrides: int | None):
    """shared.retention.Windows from RETENTION_OUTBOX_HOURS (168), RETENTION_INBOX_HOURS (336) and
    RETENTION_IDEMPOTENCY_HOURS (72); an override (outbox=, inbox=, idempotency_keys=, in hours) wins."""
    from datetime import timedelta

    from shared.retention import Windows

    env = Env(environ)
    hours = {
        "outbox": env.int("RETENTION_OUTBOX_HOURS", 168),
        "inbox": env.int("RETENTION_INBOX_HOURS", 336),
        "idempotency_keys": env.int("RETENTION_IDEMPOTENCY_HOURS", 72),
    }
    hours.update({name: value for name, value in overrides.items() if value is not None})
    return Windows(**{name: timedelta(hours=value) for name, value in hours.items()})
