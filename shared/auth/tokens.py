"""Service-to-service bearer tokens: who is calling, held to tight claims, and may they do this;
and the callers' key pairs the tokens are signed and verified with.

Each caller signs its own tokens with its own private key (EdDSA or ES256), named by `kid`; a
service holds only public keys (its `KeyRing`) and so can verify but never mint (minting is
coinsctl.tokens'). A token is good for one service (`aud`), for a bounded lifetime (`exp - iat`),
and only for the key's owner (`iss` and `sub` both name it). Every refusal is a 401 that names the
rule, never a key.

Public keys sit in a directory, one subdirectory per caller, one PEM file per key:
`<dir>/<caller>/<kid>.pem`. The subdirectory names the key's owner, so a token's `sub` can be held
to it. Two files under one caller are two live keys (rotation); a key is retired by removing its
file (picked up within `reload_seconds`, no restart) or by naming its kid in
COINS_AUTH_RETIRED_KEYS.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.auth.policy import AuthSettings
from shared.fields import ID_PATTERN
from shared.observability.metrics import KEY_FILES_REJECTED

log = logging.getLogger(__name__)

# A user grant (shared.auth.onbehalf) carries `azp`, the caller it was issued to; a bearer token never does.
GRANT_PARTY = "azp"
REQUIRED = ["iss", "sub", "aud", "iat", "exp", "jti"]


class AuthError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class Caller:
    name: str
    permissions: frozenset[str]

    def may(self, permission: str) -> bool:
        return permission in self.permissions or "*" in self.permissions


def _refused(detail: str) -> AuthError:
    return AuthError(401, detail)


NUMERIC_DATES = ("iat", "exp", "nbf")
MAX_NUMERIC_DATE = 2**53  # seconds either side of 1970: any date a JSON number holds exactly
STRINGS = ("iss", "sub", "jti", GRANT_PARTY)  # aud: checked against this service by name


def _check_claim_types(claims: dict) -> None:
    """Every claim the code reads has the type it is read as (RFC 7519: NumericDate is a JSON
    number; PyJWT lets a numeric string through), refused with 401 naming the claim."""
    for name in NUMERIC_DATES:
        value = claims.get(name)
        # Bounded, not only finite: an integer past a float's range (10**400) is no date either.
        numeric = isinstance(value, int | float) and not isinstance(value, bool) and abs(value) <= MAX_NUMERIC_DATE
        if name in claims and not numeric:
            raise _refused(f"The token's {name} must be a NumericDate (a JSON number of seconds).")
    for name in STRINGS:
        if name in claims and (not isinstance(claims[name], str) or not claims[name]):
            raise _refused(f"The token's {name} must be a non-empty string.")


def _unverified_claims(token: str) -> dict:
    """The claims as sent, to word a refusal only: never trusted."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


class TokenVerifier:
    """Verifies tokens for one service against its key ring, its audience and its policy."""

    def __init__(self, settings: AuthSettings, keyring: KeyRing | None, cache_size: int = 4096):
        self.settings = settings
        self.keyring = keyring
        self.verified = VerifiedTokens(cache_size)

    def verify(self, token: str) -> tuple[dict, PublicKey]:
        """The claims of a token signed by a known, live key, meant for this service, within its
        lifetime bounds, issued by the key's owner."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused("The bearer token is malformed.") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refused("The token's header must name its signing key (kid).")
        key = self.keyring.get(kid) if self.keyring is not None else None
        if key is None:
            raise _refused("The token's signing key (kid) is unknown here or retired.")
        if header.get("alg") != key.algorithm:
            raise _refused(f"The token's alg must be {key.algorithm}, the algorithm of its signing key.")
        claims = self._decode(token, key)
        _check_claim_types(claims)
        if claims["aud"] != self.settings.audience:
            raise _refused(f"The token's aud must be exactly {self.settings.audience!r}, this service.")
        lifetime = claims["exp"] - claims["iat"]
        if lifetime > self.settings.max_token_seconds:
            raise _refused(f"The token's lifetime (exp - iat) may be at most {self.settings.max_token_seconds} s.")
        return claims, key

    def _decode(self, token: str, key: PublicKey) -> dict:
        leeway = self.settings.leeway_seconds
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self.settings.audience,
                issuer=key.owner,
                leeway=leeway,
                options={"require": REQUIRED},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _refused("The token has expired (exp).") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _refused(f"The token's iat or nbf is more than {leeway} s in the future (clock skew).") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _refused(f"The token lacks the {exc.claim!r} claim.") from exc
        except jwt.InvalidAudienceError as exc:
            raise _refused(f"The token's aud must be exactly {self.settings.audience!r}, this service.") from exc
        except jwt.InvalidIssuerError as exc:
            raise _refused("The token's iss must name the owner of its signing key.") from exc
        except jwt.InvalidSignatureError as exc:
            raise _refused("The token's signature does not verify with the key it names.") from exc
        except jwt.PyJWTError as exc:
            # PyJWT checks some claim types itself (sub, jti, iat, exp, nbf) and says so in its
            # own words: the refusal names the claim as ours do.
            _check_claim_types(_unverified_claims(token))
            raise _refused(f"The token is invalid: {type(exc).__name__}.") from exc

    def authenticate(self, header: str | None) -> Caller:
        """Verify an `Authorization: Bearer` header; 401 on anything wrong with the token itself."""
        if not header:
            raise _refused("An Authorization: Bearer token is required.")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _refused("The Authorization header must be 'Bearer <token>'.")
        cached = self.verified.get(token, self.settings.leeway_seconds)
        if cached is not None and self.keyring.get(cached[1].kid) == cached[1]:  # a retired key's tokens stop at once
            return cached[0]
        claims, key = self.verify(token)
        if GRANT_PARTY in claims:
            raise _refused("A user grant is not a bearer token (it carries azp).")
        if claims["sub"] != key.owner:
            raise _refused("The token's sub must name the owner of its signing key.")
        caller = Caller(name=key.owner, permissions=frozenset(self.settings.policy.get(key.owner, ())))
        self.verified.put(token, caller, key, claims)
        return caller


class VerifiedTokens:
    """Tokens this process has already verified, with their caller, key and validity window.

    A caller sends one token with many requests; checking its signature and claims again on
    each costs more than the rest of the request's authentication. A hit still checks expiry
    and not-before against the clock (and the caller checks the key is still live), so a cached
    token stops working when it expires or its key is retired.
    """

    def __init__(self, size: int = 4096):
        self._size = size
        self._entries: OrderedDict[str, tuple[Caller, PublicKey, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, leeway_seconds: float) -> tuple[Caller, PublicKey] | None:
        with self._lock:
            entry = self._entries.get(token)
        if entry is None:
            return None
        caller, key, not_before, expires = entry
        now = time.time()
        if now + leeway_seconds < not_before or now - leeway_seconds >= expires:
            return None  # verified again in full, which names the reason
        return caller, key

    def put(self, token: str, caller: Caller, key: PublicKey, claims: dict) -> None:
        not_before = float(claims.get("nbf", claims["iat"]))
        with self._lock:
            self._entries[token] = (caller, key, not_before, float(claims["exp"]))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


# -- callers' public keys and the service's key ring -----------------------------------------------
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
    except UnsupportedAlgorithm as exc:  # well-formed, on a curve or of a type the library cannot load
        raise KeyFileError(f"unsupported key ({exc}): use Ed25519 or P-256", reason="unsupported") from exc
    return PublicKey(kid=kid, owner=owner, algorithm=algorithm_of(key), key=key)


def _skip(path: Path, reason: str, detail: str) -> None:
    log.error("public key file skipped", extra={"path": str(path), "reason": reason, "detail": detail})
    KEY_FILES_REJECTED.labels(reason).inc()


def _fingerprint(directory: Path) -> tuple:
    """What changes when a key file is added, replaced or removed (names, sizes, mtimes, and the
    inode and its change time, which `cp -p` or `rsync -t` cannot carry over: an Ed25519 key
    replaced in place has the same size, and may keep its mtime)."""
    entries = []
    for owner_dir in directory.iterdir():
        if owner_dir.is_dir():
            for path in owner_dir.glob("*.pem"):
                try:
                    stat = path.stat()
                    entries.append(
                        (owner_dir.name, path.name, stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)
                    )
                except OSError:  # a dangling link, a file removed meanwhile: load_public_keys names it
                    entries.append((owner_dir.name, path.name, -1, -1, -1, -1))
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
