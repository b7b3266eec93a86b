"""Who may call a service: the callers' public keys, the policy of their permissions and the rules
of a token, read from the environment (COINS_AUTH_*, <SERVICE>_AUTH_*) into a frozen `AuthSettings`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.env import ConfigError, Env


@dataclass(frozen=True)
class AuthSettings:
    # This service's name in a token's `aud`.
    audience: str
    # The callers' public keys: <keys_dir>/<caller>/<kid>.pem (shared.auth.tokens); None: no caller can call.
    keys_dir: Path | None = None
    retired_keys: frozenset[str] = frozenset()
    # caller -> permissions it holds on this service
    policy: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    max_token_seconds: int = 900  # exp - iat
    leeway_seconds: int = 30  # clock skew allowed on exp, iat and nbf


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
