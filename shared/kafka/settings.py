"""How every process reaches Kafka: brokers, topic prefix, authentication and the consumer's and
relay's tuning, read from the environment (KAFKA_*) into a frozen `KafkaSettings`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.env import ConfigError, Env


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic_prefix: str = ""
    session_timeout_ms: int = 10_000
    batch_size: int = 1000
    # How long a fetch may wait for data. Apache Kafka answers as soon as there is any; a Kafka-compatible
    # broker (Tansu) holds a fetch that found none for this long even if data arrives meanwhile, so
    # there it is also the cadence of a consumer's batches: longer, fewer and larger. 100 ms: the
    # end-to-end p99 at half the gift rate ~80 ms (200 ms: ~150-200) for ~0.03 ms more consumer CPU a gift.
    fetch_max_wait_ms: int = 100
    # How long an outbox relay lets its next batch fill after a partial one: fewer, larger batches
    # under load (each costs a query, a flush, a produce request, a mark, and the consumer's
    # transaction downstream) for a few ms of latency. 15 ms: at single-gift arrival (bench.pipeline,
    # 400 events/s, two runs each) the relay, consumer and PostgreSQL spent 1.37 ms an event with
    # 10, 1.10 with 15 and 0.90 with 20, for a p50 (row -> inbox) of 14-15, 18 and 19-21 ms; in
    # `make bench` runs the gift -> diamonds p50 read 11-12 ms with 10, 14 with 15 and 16-17 with
    # 20 (bound 20), the p99 33-90, 36 and 32-38 ms (bound 50). 5 ms had put the p99 at 61-71 ms.
    linger_ms: int = 15
    # The same for a consumer, once its first records are there. Short: the relay's batches already
    # reach it whole, so waiting longer adds latency and saves next to nothing.
    consumer_linger_ms: int = 2
    # How often a consumer commits its offsets: after the batch that follows this much time since
    # the last commit, and whenever a poll finds nothing. A crash re-reads what was applied since;
    # the inbox dedupes it. 0: after every batch.
    commit_interval_ms: int = 500
    watchdog_s: int = 120  # a consumer whose poll has not returned for this long exits to be restarted
    # How long the topics keep events, and the dead-letter topics their letters (`coinsctl topics`
    # creates them so): copies of an event that can come back, so the inbox keeps its rows longer
    # (shared.db.retention.Windows; every process checks it at start-up).
    retention_hours: int = 7 * 24  # long enough to rebuild a consumer after a week's outage
    dlq_retention_hours: int = 90 * 24  # dead letters wait for a person to fix and replay them
    # How the clients authenticate: PLAINTEXT (the open local broker) or SASL_PLAINTEXT / SASL_SSL
    # with SCRAM, as Apache Kafka with ACLs wants (each service its own principal).
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    # With SSL or SASL_SSL: the CA bundle the broker's certificate must chain to (the system's
    # trust store when unset), and whether its name must match the broker's address.
    ssl_cafile: str | None = None
    ssl_check_hostname: bool = True

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


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
        retention_hours=env.int("KAFKA_RETENTION_HOURS", KafkaSettings.retention_hours),
        dlq_retention_hours=env.int("KAFKA_DLQ_RETENTION_HOURS", KafkaSettings.dlq_retention_hours),
        security_protocol=env.str("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
        sasl_mechanism=env.optional("KAFKA_SASL_MECHANISM"),
        sasl_username=env.optional("KAFKA_SASL_USERNAME"),
        sasl_password=_sasl_password(env),
        ssl_cafile=_ssl_cafile(env),
        ssl_check_hostname=_flag(env, "KAFKA_SSL_CHECK_HOSTNAME", True),
    )


def _ssl_cafile(env: Env) -> str | None:
    """KAFKA_SSL_CAFILE: a readable PEM bundle, checked at start rather than at the first connect."""
    path = env.optional("KAFKA_SSL_CAFILE")
    if path and not Path(path).is_file():
        raise ConfigError(f"KAFKA_SSL_CAFILE {path!r} is not a readable file (the broker's CA certificate, PEM)")
    return path


def _flag(env: Env, name: str, default: bool) -> bool:
    raw = env.str(name, str(default)).lower()
    if raw not in ("true", "false"):
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    return raw == "true"


def _sasl_password(env: Env) -> str | None:
    """KAFKA_SASL_PASSWORD, or the file named by KAFKA_SASL_PASSWORD_FILE (a mounted secret)."""
    path = env.optional("KAFKA_SASL_PASSWORD_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"KAFKA_SASL_PASSWORD_FILE {path!r} cannot be read: {exc}") from exc
    return env.optional("KAFKA_SASL_PASSWORD")
