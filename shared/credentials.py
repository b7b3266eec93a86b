"""The deployment environment (COINS_ENV: what a process may be given) and its credentials.

Which credentials each process uses is one list both sides follow: the deploy files give a
process these and no others (tests/unit/test_least_privilege.py reads the rendered compose file
and Kubernetes manifests against it), and a process started in production with a credential it
does not use refuses to start (`refuse_foreign`), naming it. Outside local and test a password
must not be a default, well-known or short one (`check_password`, `check_database_url`).

A credential is held as an environment variable (a database URL, a broker password) or as a
mounted directory (the callers' public keys, the ops caller's private key). A leaf module: the
settings, the database and the process runners all use it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from shared.env import ConfigError, Env

log = logging.getLogger(__name__)

LOCAL_ENVIRONMENTS = ("local", "test")
# staging: production's checks, except that the sandbox processors and SASL over a network without
# TLS (one host, as deploy/compose.yaml runs) are allowed.
ENVIRONMENTS = (*LOCAL_ENVIRONMENTS, "staging", "production")


def deployment_environment(environ: Mapping[str, str] | None = None) -> str:
    """COINS_ENV: local, test, staging or production (the default). Only local and test may run
    wiring that is unsafe anywhere else (an empty policy, no caller keys, an open broker, default
    passwords); only they and staging may use the sandbox processors."""
    value = Env(environ).str("COINS_ENV", "production").lower()
    if value not in ENVIRONMENTS:
        raise ConfigError(f"COINS_ENV must be one of {', '.join(ENVIRONMENTS)}, got {value!r}")
    return value


# Passwords shipped as defaults by this project, PostgreSQL's images or common examples: never
# accepted outside local and test, whatever the setting.
WELL_KNOWN_PASSWORDS = frozenset(
    {"coins", "postgres", "password", "secret", "changeme", "change-me", "admin", "root", "unused", "kafka"}
)
MIN_PASSWORD_CHARS = 12


def check_password(setting: str, password: str, *, user: str | None = None) -> None:
    """Refuse a default, well-known or short password (outside local and test), naming the setting."""
    lowered = password.lower()
    if lowered in WELL_KNOWN_PASSWORDS or lowered == (user or "").lower():
        raise ConfigError(f"{setting}: a default or well-known password is refused outside COINS_ENV=local|test")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ConfigError(
            f"{setting}: a password of fewer than {MIN_PASSWORD_CHARS} characters is refused outside "
            "COINS_ENV=local|test (generate one: openssl rand -hex 24)"
        )


def check_database_url(setting: str, url: str, environment: str) -> None:
    """Outside local and test: a parseable URL without a default, well-known or short password
    (none in the URL is allowed: a passfile, a client certificate or IAM provides it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if environment in LOCAL_ENVIRONMENTS:
        return
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"{setting} is not a database URL") from exc
    if parsed.password is not None:
        check_password(setting, parsed.password, user=parsed.username)


SERVICES = ("purchase", "gifting", "payout")  # the one list of the services (the CLI, docs, test platform use it)
KEYS_DIR = "/etc/coins/caller-keys"  # the callers' public keys (COINS_AUTH_KEYS_DIR), web only
OPS_KEY_DIR = "/etc/coins/audit/keys/private/ops"  # the ops caller's private key, the audit only

# What each process kind uses. A web process only probes the brokers' ports (no principal); the
# worker and the reconciler reach the broker only through the outbox; the audit reads the
# services' ops listings over HTTP with an ops token, and no database or topic.
USES: dict[str, frozenset[str]] = {
    "web": frozenset({"database", "caller-keys"}),
    "relay": frozenset({"database", "kafka"}),
    "consumer": frozenset({"database", "kafka"}),
    "worker": frozenset({"database"}),
    "reconciler": frozenset({"database"}),
    "migrate": frozenset({"database"}),
    "wait-migrated": frozenset({"database"}),
    "prune": frozenset({"database"}),
    "topics": frozenset({"kafka-admin"}),
    "audit": frozenset({"ops-key"}),
    "database": frozenset({"postgres"}),  # a service's own PostgreSQL server
    "broker": frozenset({"broker-users"}),  # the broker: every principal's password, to create them
    "sandbox": frozenset(),
    # The CDC path (coinsctl.cdc): Kafka Connect running Debezium, its principal's ACLs, the role
    # Debezium logs in as (made on every server), the switch that hands it an outbox (and the role's
    # password, in the connector's config), and the job marking what it streamed.
    "connect": frozenset({"kafka-connect"}),
    "cdc-acls": frozenset({"kafka-admin"}),
    "cdc-role": frozenset({"database-admins", "cdc-password"}),
    "cdc-on": frozenset({"database", "kafka", "cdc-password"}),
    "cdc-mark": frozenset({"database"}),
}

# Variable names that carry a secret, whoever holds them.
SECRET_VARIABLE = re.compile(r"(_DATABASE_URL|PASSWORD|PASSWORD_FILE|_SECRET|_TOKEN|_PRIVATE_KEY|^KAFKA_USERS)$")


def granted(service: str | None, role: str) -> frozenset[str]:
    """The variables and mount paths a process of `role` (of `service`, if any) may hold."""
    if role not in USES:
        raise ValueError(f"unknown process kind {role!r}")
    held: set[str] = set()
    for use in USES[role]:
        if use == "database":
            held.add(f"{(service or '').upper()}_DATABASE_URL")
        elif use in ("kafka", "kafka-admin", "kafka-connect"):
            held |= {"KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE"}
        elif use == "caller-keys":
            held.add(KEYS_DIR)
        elif use == "ops-key":
            held.add(OPS_KEY_DIR)
        elif use == "postgres":  # the server's superuser and the service role it creates
            held |= {"POSTGRES_PASSWORD", "SERVICE_DB_PASSWORD"}
        elif use == "broker-users":
            held.add("KAFKA_USERS")
        elif use == "database-admins":  # every server's superuser, to make the CDC role on each
            held |= {f"{name.upper()}_DB_ADMIN_PASSWORD" for name in SERVICES}
        elif use == "cdc-password":
            held.add("COINS_CDC_PASSWORD")
    return frozenset(held)


def principal(service: str | None, role: str) -> str | None:
    """The broker principal a process connects as: its service's, the admin for `topics`, Connect's
    own, else none."""
    if "kafka-admin" in USES[role]:
        return "admin"
    if "kafka-connect" in USES[role]:
        return "connect"
    return service if "kafka" in USES[role] else None


def foreign(service: str | None, role: str, environ: Mapping[str, str]) -> list[str]:
    """The credentials in `environ` that a `role` process of `service` does not use."""
    allowed = granted(service, role)
    found = sorted(name for name, value in environ.items() if value and SECRET_VARIABLE.search(name))
    extra = [name for name in found if name not in allowed]
    user = environ.get("KAFKA_SASL_USERNAME")
    if user and principal(service, role) not in (None, user):
        extra.append(f"KAFKA_SASL_USERNAME={user}")
    return extra


def refuse_foreign(service: str | None, role: str, environ: Mapping[str, str], environment: str) -> None:
    """In production a process holding another's credentials refuses to start (its deployment
    leaks them); in staging it says so in the log; local and test runs share one environment."""
    if environment in LOCAL_ENVIRONMENTS:
        return
    extra = foreign(service, role, environ)
    if not extra:
        return
    message = (
        f"{service or ''}{'-' if service else ''}{role} was given credentials it does not use: "
        f"{', '.join(extra)} (give each process only its own: shared/credentials.py)"
    )
    if environment == "production":
        raise ConfigError(message)
    log.warning(message)
