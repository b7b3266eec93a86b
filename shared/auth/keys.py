"""Callers' key pairs: the public keys a service verifies with, and making and reading key files.

A service holds public keys only, so it can verify a caller's token but never mint one. They sit
in a directory, one subdirectory per caller, one PEM file per key: `<dir>/<caller>/<kid>.pem`.
The subdirectory names the key's owner, so a token's `sub` can be held to it. Two files under
one caller are two live keys (rotation); a key is retired by removing its file (picked up within
`reload_seconds`, no restart) or by naming its kid in COINS_AUTH_RETIRED_KEYS.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.fields import ID_PATTERN
from shared.observability.metrics import KEY_FILES_REJECTED

log = logging.getLogger(__name__)

KID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CALLER_RE = re.compile(ID_PATTERN)
# The algorithm each kind of public key verifies; nothing else is accepted for it.
ALGORITHMS = {ed25519.Ed25519PublicKey: "EdDSA", ec.EllipticCurvePublicKey: "ES256"}


class KeyFileError(Exception):
    """A key file cannot be used (named in the message)."""

    def __init__(self, message: str, reason: str = "invalid"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PublicKey:
    kid: str
    owner: str
    algorithm: str
    key: object


def algorithm_of(key) -> str:
    for kind, algorithm in ALGORITHMS.items():
        if isinstance(key, kind):
            if algorithm == "ES256" and key.curve.name != "secp256r1":
                break
            return algorithm
    raise KeyFileError(f"unsupported key type {type(key).__name__}: use Ed25519 or P-256", reason="unsupported")


def load_public_keys(directory: Path, retired: frozenset[str] = frozenset()) -> dict[str, PublicKey]:
    """Every usable public key under `directory` by kid. A file that cannot be used is skipped,
    loudly (an error line and coins_auth_key_files_rejected_total): one bad file must neither
    keep a retired key alive nor stop a service from starting with the good ones. A kid found
    under two callers is refused under both, since which caller it speaks for is unknown."""
    found: dict[str, PublicKey] = {}
    ambiguous: set[str] = set()
    for owner_dir in sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not CALLER_RE.fullmatch(owner_dir.name):
            _skip(owner_dir, "bad_name", "the directory name must be a caller's name")
            continue
        for path in sorted(owner_dir.glob("*.pem")):
            try:
                key = _read_public_key(path, owner_dir.name)
            except KeyFileError as exc:
                _skip(path, exc.reason, str(exc))
                continue
            if key.kid in found or key.kid in ambiguous:
                _skip(path, "duplicate_kid", f"key id {key.kid!r} is also {found.get(key.kid, key).owner}'s")
                found.pop(key.kid, None)
                ambiguous.add(key.kid)
            elif key.kid not in retired:
                found[key.kid] = key
    return found


def _read_public_key(path: Path, owner: str) -> PublicKey:
    kid = path.stem
    if not KID_RE.fullmatch(kid):
        raise KeyFileError("the file name must be the key id (letters, digits, . _ -)", reason="bad_name")
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (ValueError, OSError) as exc:
        raise KeyFileError(f"not a PEM public key ({exc})", reason="unreadable") from exc
    return PublicKey(kid=kid, owner=owner, algorithm=algorithm_of(key), key=key)


def _skip(path: Path, reason: str, detail: str) -> None:
    log.error("public key file skipped", extra={"path": str(path), "reason": reason, "detail": detail})
    KEY_FILES_REJECTED.labels(reason).inc()


def _fingerprint(directory: Path) -> tuple:
    """What changes when a key file is added, replaced or removed (names, sizes, mtimes)."""
    entries = []
    for owner_dir in directory.iterdir():
        if owner_dir.is_dir():
            for path in owner_dir.glob("*.pem"):
                try:
                    stat = path.stat()
                    entries.append((owner_dir.name, path.name, stat.st_size, stat.st_mtime_ns))
                except OSError:  # a dangling link, a file removed meanwhile: load_public_keys names it
                    entries.append((owner_dir.name, path.name, -1, -1))
    return tuple(sorted(entries))


class KeyRing:
    """The public keys of a directory, reloaded when its files change (checked at most every
    `reload_seconds`), so that a key is added or retired without restarting the service."""

    def __init__(self, directory: Path, *, retired: frozenset[str] = frozenset(), reload_seconds: float = 1.0):
        self.directory = directory
        self.retired = retired
        self.reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._fingerprint = _fingerprint(directory)
        self._keys = load_public_keys(directory, retired)
        self._checked = time.monotonic()

    def get(self, kid: str) -> PublicKey | None:
        self._maybe_reload()
        return self._keys.get(kid)

    def owners(self) -> set[str]:
        self._maybe_reload()
        return {key.owner for key in self._keys.values()}

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._checked < self.reload_seconds:
            return
        with self._lock:
            if time.monotonic() - self._checked < self.reload_seconds:
                return
            self._checked = time.monotonic()
            try:
                fingerprint = _fingerprint(self.directory)
                if fingerprint != self._fingerprint:
                    self._keys = load_public_keys(self.directory, self.retired)
                    self._fingerprint = fingerprint
            except OSError:
                # Fail closed: a directory that cannot be read cannot say which keys were retired.
                log.exception("key directory unreadable: every token refused", extra={"dir": str(self.directory)})
                self._keys, self._fingerprint = {}, ()


# -- making and reading a caller's own key pair ---------------------------------------------------
def new_kid(caller: str) -> str:
    """A fresh key id for a caller: its name and the UTC time, so ids sort by age."""
    return f"{caller}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.urandom(3).hex()}"


def generate_key_pair(private_dir: Path, public_dir: Path, caller: str, kid: str | None = None) -> str:
    """Write an Ed25519 pair: `<private_dir>/<caller>/<kid>.pem` (0600) and its public half
    under `<public_dir>/<caller>/`; returns the kid."""
    if not CALLER_RE.fullmatch(caller):
        raise KeyFileError(f"caller {caller!r} is not a valid name")
    kid = kid or new_kid(caller)
    if not KID_RE.fullmatch(kid):
        raise KeyFileError(f"key id {kid!r} is not valid")
    private = ed25519.Ed25519PrivateKey.generate()
    (private_dir / caller).mkdir(mode=0o700, parents=True, exist_ok=True)
    private_dir.chmod(0o700)  # only the caller reads its private keys
    (public_dir / caller).mkdir(parents=True, exist_ok=True)
    private_path = private_dir / caller / f"{kid}.pem"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    tmp = public_dir / caller / f".{kid}.pem.tmp"
    tmp.write_bytes(public)
    tmp.replace(public_dir / caller / f"{kid}.pem")  # a reader never sees half a key
    return kid


@dataclass(frozen=True)
class SigningKey:
    caller: str
    kid: str
    key: object

    @property
    def algorithm(self) -> str:
        return algorithm_of(self.key.public_key())


def load_signing_key(private_dir: Path, caller: str, kid: str | None = None) -> SigningKey:
    """A caller's private key from `<private_dir>/<caller>/`: the named kid, or the newest."""
    candidates = sorted((private_dir / caller).glob("*.pem"), key=lambda p: p.stat().st_mtime_ns)
    if kid is not None:
        candidates = [p for p in candidates if p.stem == kid]
    if not candidates:
        raise KeyFileError(
            f"no private key for {caller!r} under {private_dir / caller}" + (f" with kid {kid!r}" if kid else "")
        )
    path = candidates[-1]
    return SigningKey(
        caller=caller, kid=path.stem, key=serialization.load_pem_private_key(path.read_bytes(), password=None)
    )
