"""Callers' key pairs for the local stack and for operators: make them, find them, sign with them.

The local stack keeps them under `<var>/keys/`: `private/<caller>/<kid>.pem` (what each caller
would hold, 0600) and `public/<caller>/<kid>.pem` (what the services get, COINS_AUTH_KEYS_DIR).
"""

from __future__ import annotations

from pathlib import Path

from coinsctl.tokens import issue_token
from shared.auth.tokens import generate_key_pair, load_signing_key

# The callers the default policies name.
LOCAL_CALLERS = ("gateway", "live", "app", "processor", "ops")


def key_dirs(var_dir: Path) -> tuple[Path, Path]:
    return var_dir / "keys" / "private", var_dir / "keys" / "public"


def ensure_local_keys(var_dir: Path, callers: tuple[str, ...] = LOCAL_CALLERS) -> Path:
    """A key pair for every local caller that has none yet; returns the public key directory."""
    private_dir, public_dir = key_dirs(var_dir)
    for caller in callers:
        if not any((private_dir / caller).glob("*.pem")):
            generate_key_pair(private_dir, public_dir, caller)
    return public_dir


def local_token(
    var_dir: Path, caller: str, service: str, ttl_seconds: int = 300, kid: str | None = None, **grant
) -> str:
    """A token signed with the caller's newest local private key (or the one named), for one
    service; `grant` (subject, authorized_party, limits: coinsctl.tokens.issue_token) makes it a user grant."""
    private_dir, _ = key_dirs(var_dir)
    return issue_token(load_signing_key(private_dir, caller, kid), audience=service, ttl_seconds=ttl_seconds, **grant)
