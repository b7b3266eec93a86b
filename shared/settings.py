"""The settings every service has (`CommonSettings`), read once from the environment into frozen
objects, and the few rules the services share: the broker's security, where a database is,
a processor's address, retention windows (checked at start-up: `check_retention`).

Each service builds its own settings object from `CommonSettings` plus its own rules. Kafka's
and the callers' settings are shared.kafka.settings and shared.auth.policy; all of them read
the environment through shared.env (which says who else may).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.auth.policy import AuthSettings, auth_settings
from shared.credentials import LOCAL_ENVIRONMENTS, check_password, deployment_environment
from shared.db.engines import database_url
from shared.env import ConfigError, Env
from shared.kafka.settings import KafkaSettings, kafka_settings

# Sanctioned or otherwise unserved markets: no purchases, no creator payouts. Override with
# PURCHASE_BLOCKED_COUNTRIES / PAYOUT_BLOCKED_COUNTRIES; set empty, a variable means this list.
DEFAULT_BLOCKED_COUNTRIES = "CU,IR,KP,SY,RU,BY"


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
    metrics_host: str = "0.0.0.0"  # a pod's address; 127.0.0.1 on a shared host network
    # A background process whose loop has not come round for this long reports itself not live.
    stall_seconds: int = 120

    @property
    def local_or_test(self) -> bool:
        return self.environment in LOCAL_ENVIRONMENTS


def common_settings(
    service: str, default_policy: Mapping[str, tuple[str, ...]], environ: Mapping[str, str] | None = None
) -> CommonSettings:
    """Settings every service has. Per-service variables are prefixed, e.g. PURCHASE_DATABASE_URL."""
    env = Env(environ)
    prefix = service.upper()
    kafka = kafka_settings(environ)
    check_retention(environ, kafka)
    check_kafka_security(kafka, deployment_environment(environ))
    return CommonSettings(
        service=service,
        database_url=database_url(service, environ),
        kafka=kafka,
        auth=auth_settings(service, default_policy, environ),
        log_level=env.str("LOG_LEVEL", "INFO"),
        max_body_bytes=env.int("MAX_BODY_BYTES", CommonSettings.max_body_bytes),
        idempotency_lease_seconds=env.int("IDEMPOTENCY_LEASE_SECONDS", 60),
        consumer_group=env.str(f"{prefix}_CONSUMER_GROUP", f"{service}-consumer"),
        environment=deployment_environment(environ),
        db_pool_size=env.int("DATABASE_POOL_SIZE", CommonSettings.db_pool_size),
        db_max_overflow=env.int("DATABASE_MAX_OVERFLOW", CommonSettings.db_max_overflow),
        metrics_port=env.int("METRICS_PORT", 0),
        metrics_host=env.str("METRICS_HOST", "0.0.0.0"),
        stall_seconds=env.int("PROCESS_STALL_SECONDS", CommonSettings.stall_seconds),
    )


# -- the deployment environment (COINS_ENV, shared.credentials) and the broker's security ---------
SASL_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def check_kafka_security(kafka: KafkaSettings, environment: str) -> None:
    """Outside local and test the broker is reached authenticated (SASL with SCRAM), over TLS with
    the broker's name checked (staging may use SASL without TLS). The principal's password is
    checked where it is given: a web process, which only probes the brokers' ports, has none."""
    if environment in LOCAL_ENVIRONMENTS:
        return
    allowed = ("SASL_SSL",) if environment == "production" else ("SASL_SSL", "SASL_PLAINTEXT")
    if kafka.security_protocol not in allowed:
        raise ConfigError(
            f"COINS_ENV={environment}: KAFKA_SECURITY_PROTOCOL={kafka.security_protocol} is refused "
            f"(the broker must authenticate each client and, in production, encrypt): use {' or '.join(allowed)}"
        )
    if kafka.sasl_mechanism not in SASL_MECHANISMS:
        raise ConfigError(
            f"COINS_ENV={environment}: KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}, "
            f"got {kafka.sasl_mechanism!r}"
        )
    if kafka.security_protocol == "SASL_SSL" and not kafka.ssl_check_hostname:
        raise ConfigError(
            f"COINS_ENV={environment}: KAFKA_SSL_CHECK_HOSTNAME=false is refused (any certificate from "
            "KAFKA_SSL_CAFILE's CA would then pass for the broker)"
        )
    if kafka.sasl_password is not None:
        check_password("KAFKA_SASL_PASSWORD", kafka.sasl_password, user=kafka.sasl_username)


def processor_settings(env: Env, prefix: str, *, default_port: int, environment: str):
    """Where the service's processor is (<PREFIX>_PROCESSOR_URL, _TIMEOUT_MS, _ATTEMPTS). Only the
    sandbox protocol's adapter exists; outside COINS_ENV=local|test (`environment`, see
    deployment_environment) it is refused unless <PREFIX>_PROCESSOR=sandbox asks for it, and in
    production a URL that is not a real processor's (see check_processor_url) is refused."""
    from shared.outbound import OutboundSettings

    name = env.optional(f"{prefix}_PROCESSOR")
    if name is None and environment not in LOCAL_ENVIRONMENTS:
        raise ConfigError(
            f"COINS_ENV={environment}: set {prefix}_PROCESSOR; the sandbox processor is used "
            f"outside local and test only when asked for by name ({prefix}_PROCESSOR=sandbox)"
        )
    if environment == "production":
        check_processor_url(f"{prefix}_PROCESSOR_URL", env.optional(f"{prefix}_PROCESSOR_URL"))
    if (name or "sandbox") != "sandbox":
        raise ConfigError(f"{prefix}_PROCESSOR must be 'sandbox' (the only adapter built), got {name!r}")
    settings = OutboundSettings(
        name="sandbox",
        service=prefix.lower(),
        url=env.str(f"{prefix}_PROCESSOR_URL", f"http://127.0.0.1:{default_port}"),
        timeout_ms=env.int(f"{prefix}_PROCESSOR_TIMEOUT_MS", 3000),
        attempts=env.int(f"{prefix}_PROCESSOR_ATTEMPTS", 2),
    )
    if settings.timeout_ms <= 0 or settings.attempts <= 0:
        raise ConfigError(f"{prefix}_PROCESSOR_TIMEOUT_MS and _ATTEMPTS must be positive")
    return settings


def check_processor_url(setting: str, url: str | None) -> None:
    """Production's processor is a real one: set explicitly, over https, not on this host, not a
    sandbox (sandboxes/ runs as card-sandbox, payout-sandbox, *-sandbox.*) and not the manifests'
    placeholder (a host under .invalid, which the production overlay ships until ops set it)."""
    from urllib.parse import urlsplit

    if not url:
        raise ConfigError(f"COINS_ENV=production: {setting} must name the real processor's endpoint")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith(".invalid"):
        reason = "is the deployment's placeholder: set the real processor's endpoint"
    elif "sandbox" in host:
        reason = "names a sandbox processor (allowed with COINS_ENV=staging, local or test)"
    elif host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.startswith("127."):
        reason = "is on this host, where no real processor runs"
    elif parts.scheme != "https":
        reason = "must use https"
    else:
        return
    raise ConfigError(f"COINS_ENV=production: {setting}={url!r} {reason}")


def retention_windows(
    environ: Mapping[str, str] | None = None, kafka: KafkaSettings | None = None, **overrides: int | None
):
    """shared.db.retention.Windows from RETENTION_OUTBOX_HOURS (168), RETENTION_INBOX_HOURS (2160) and
    RETENTION_IDEMPOTENCY_HOURS (72), checked against the broker's retention of events and dead
    letters (`kafka`, else KAFKA_RETENTION_HOURS and KAFKA_DLQ_RETENTION_HOURS); an override
    (outbox=, inbox=, idempotency_keys=, in hours) wins. Raises shared.db.retention.RetentionError."""
    from datetime import timedelta

    from shared.db.retention import Windows

    env = Env(environ)
    kafka = kafka or kafka_settings(environ)
    hours = {
        "outbox": env.int("RETENTION_OUTBOX_HOURS", 168),
        "inbox": env.int("RETENTION_INBOX_HOURS", 2160),
        "idempotency_keys": env.int("RETENTION_IDEMPOTENCY_HOURS", 72),
        "topics": kafka.retention_hours,
        "dead_letters": kafka.dlq_retention_hours,
    }
    hours.update({name: value for name, value in overrides.items() if value is not None})
    return Windows(**{name: timedelta(hours=value) for name, value in hours.items()})


def check_retention(environ: Mapping[str, str] | None = None, kafka: KafkaSettings | None = None) -> None:
    """At start-up: refuse retention windows that would let an event be applied twice."""
    from shared.db.retention import RetentionError

    try:
        retention_windows(environ, kafka)
    except RetentionError as exc:
        raise ConfigError(
            f"retention refused: {exc} (RETENTION_INBOX_HOURS, RETENTION_OUTBOX_HOURS, KAFKA_RETENTION_HOURS, "
            "KAFKA_DLQ_RETENTION_HOURS)"
        ) from exc
