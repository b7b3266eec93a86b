"""The test session's callers: the package's key pairs (coins_platform.testing.keys), for every
caller the default policies name plus one that no policy names."""

from __future__ import annotations

from coins_platform.testing.keys import DEFAULT_CALLERS, CallerKeys

CALLERS = (*DEFAULT_CALLERS, "stranger")


def session_keys() -> CallerKeys:
    return CallerKeys(callers=CALLERS)
