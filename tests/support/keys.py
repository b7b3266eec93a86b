"""Key pairs for the test callers, made once per session: the services get the public halves."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from coinsctl.tokens import issue_token
from shared.auth.keys import generate_key_pair, load_signing_key

# Every caller the default policies name, plus one that no policy names.
CALLERS = ("gateway", "live", "app", "processor", "ops", "stranger")


class CallerKeys:
    """A directory with `private/<caller>/<kid>.pem` and `public/<caller>/<kid>.pem`."""

    def __init__(self, root: Path | None = None):
        self.root = root or Path(tempfile.mkdtemp(prefix="coins-keys-"))
        self.private_dir, self.public_dir = self.root / "private", self.root / "public"
        self.root.chmod(0o755)  # the service containers (uid 10001) read the public keys; private/ stays 0700
        self.private_dir.mkdir(mode=0o700)
        for caller in CALLERS:
            generate_key_pair(self.private_dir, self.public_dir, caller, kid=f"{caller}-test-1")

    def signing_key(self, caller: str, kid: str | None = None):
        return load_signing_key(self.private_dir, caller, kid)

    def token(self, caller: str, service: str, **claims) -> str:
        return issue_token(self.signing_key(caller), audience=service, **claims)

    def headers(self, caller: str = "gateway", *, service: str, **extra) -> dict:
        return {"Authorization": f"Bearer {self.token(caller, service)}", **extra}

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
