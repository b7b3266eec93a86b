"""Which credentials each process uses, the one list both sides follow: the deploy files give a
process these and no others (tests/unit/test_least_privilege.py reads the rendered compose file
and Kubernetes manifests against it), and a process started in production with a credential it
does not use refuses to start (`refuse_foreign`), naming it.

A credential is held as an environment variable (a database URL, a broker password) or as a
mounted directory (the callers' public keys, the ops caller's private key).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from shared.env import ConfigError

log = logging.getLogger(__name__)

SERVICES = ("purchase", "gifting", "payout")
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
        elif use in ("kafka", "kafka-admin"):
            held |= {"KAFKA_SASL_PASSWORD", "KAFKA_SASL_PASSWORD_FILE"}
        elif use == "caller-keys":
            held.add(KEYS_DIR)
        elif use == "ops-key":
            held.add(OPS_KEY_DIR)
        elif use == "postgres":  # the server's superuser and the service role it creates
            held |= {"POSTGRES_PASSWORD", "SERVICE_DB_PASSWORD"}
        elif use == "broker-users":
            held.add("KAFKA_USERS")
    return frozenset(held)


def principal(service: str | None, role: str) -> str | None:
    """The broker principal a process connects as: its service's, the admin for `topics`, else none."""
    if "kafka-admin" in USES[role]:
        return "admin"
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
    if environment in ("local", "test"):
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
