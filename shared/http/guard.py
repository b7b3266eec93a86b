"""Start-up checks of a web app's access wiring: it fails closed, naming the setting or route.

Outside COINS_ENV=local|test a service refuses to start without caller keys or with an empty
policy; in every environment it refuses a route that declares no permission (or that lives
outside /v1, where no token is asked for), such as Flask's default static route.
"""

from __future__ import annotations

import logging

from flask import Flask

from shared.auth.tokens import KeyFileError, KeyRing, TokenVerifier
from shared.env import ConfigError
from shared.http.app import spec_of
from shared.settings import CommonSettings

log = logging.getLogger(__name__)


def build_verifier(settings: CommonSettings) -> TokenVerifier:
    """The service's token verifier, after checking its keys and policy may run here."""
    auth = settings.auth
    strict = not settings.local_or_test
    if strict and not any(auth.policy.values()):
        raise ConfigError(
            f"{settings.service.upper()}_AUTH_POLICY grants nothing to anyone: refusing to start "
            "(an empty policy is allowed only with COINS_ENV=local or test)"
        )
    if auth.keys_dir is None:
        if strict:
            raise ConfigError(
                "COINS_AUTH_KEYS_DIR must name the directory of the callers' public keys "
                "(unset is allowed only with COINS_ENV=local or test)"
            )
        log.warning("COINS_AUTH_KEYS_DIR is unset: every /v1 call will be refused")
        return TokenVerifier(auth, None)
    if not auth.keys_dir.is_dir():
        raise ConfigError(f"COINS_AUTH_KEYS_DIR {str(auth.keys_dir)!r} is not a directory")
    try:
        keyring = KeyRing(auth.keys_dir, retired=auth.retired_keys)
    except (OSError, KeyFileError) as exc:
        raise ConfigError(f"COINS_AUTH_KEYS_DIR: {exc}") from exc
    if strict and not keyring.owners() & set(auth.policy):
        raise ConfigError(
            f"COINS_AUTH_KEYS_DIR {str(auth.keys_dir)!r} holds no key of a caller that "
            f"{settings.service.upper()}_AUTH_POLICY names"
        )
    return TokenVerifier(auth, keyring)


def check_routes(app: Flask, open_prefixes: tuple[str, ...]) -> None:
    """Every route is open by design (health, metrics, OpenAPI) or a /v1 route with a permission."""
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(open_prefixes):
            continue
        spec = spec_of(rule.endpoint)
        if not rule.rule.startswith("/v1/") or spec is None or not spec.permission:
            undeclared.append(f"{sorted(rule.methods - {'HEAD', 'OPTIONS'})} {rule.rule} ({rule.endpoint})")
    if undeclared:
        raise ConfigError(
            "routes without a declared permission (declare them with shared.http.app.route under /v1): "
            + "; ".join(undeclared)
        )
