"""The callers' key pairs a test platform trusts: made on first use, public halves mounted into
the web containers (which pick up a new caller's key without a restart)."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from coinsctl.tokens import issue_token
from shared.auth.tokens import generate_key_pair, load_signing_key

# The callers the services' default policies name.
DEFAULT_CALLERS = ("gateway", "live", "app", "processor", "ops")


class CallerKeys:
    """`<root>/private/<caller>/<kid>.pem` and `<root>/public/<caller>/<kid>.pem` in a temporary directory."""

    def __init__(self, callers: tuple[str, ...] = DEFAULT_CALLERS):
        self.root = Path(tempfile.mkdtemp(prefix="coins-platform-keys-"))
        self.private_dir, self.public_dir = self.root / "private", self.root / "public"
        self.root.chmod(0o755)  # the service containers (uid 10001) read public/; private/ stays 0700
        self.public_dir.mkdir(mode=0o755)
        self._lock = threading.Lock()
        for caller in callers:
            self.add(caller)

    def add(self, caller: str) -> bool:
        """A key pair for `caller` unless it has one (any new caller name is fine): True if made now."""
        with self._lock:
            if self.private_dir.is_dir() and any((self.private_dir / caller).glob("*.pem")):
                return False
            kid = generate_key_pair(self.private_dir, self.public_dir, caller, kid=f"{caller}-test-1")
            (self.public_dir / caller).chmod(0o755)
            (self.public_dir / caller / f"{kid}.pem").chmod(0o644)
            return True

    def signing_key(self, caller: str, kid: str | None = None):
        """The caller's private key (its newest, or `kid`), to sign tokens of one's own."""
        return load_signing_key(self.private_dir, caller, kid)

    def token(self, caller: str, service: str, *, ttl_seconds: int = 300, **claims) -> str:
        return issue_token(self.signing_key(caller), audience=service, ttl_seconds=ttl_seconds, **claims)

    def headers(self, caller: str = "gateway", *, service: str, **extra) -> dict:
        """Request headers with the caller's bearer token for `service`, and `extra`."""
        return {"Authorization": f"Bearer {self.token(caller, service)}", **extra}

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
