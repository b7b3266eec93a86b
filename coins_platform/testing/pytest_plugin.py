"""The pytest plugin (entry point `coins_platform`): the `coins_platform` fixture.

Its arguments come from the `coins_platform_options` fixture (a dict of CoinsPlatform's
keyword arguments; override it in your conftest.py) and the COINS_PLATFORM_* variables. It
lives for the session unless the ini option `coins_platform_scope` says `package` or `module`
(stopped, then, when the tests of that package or module are done).
"""

from __future__ import annotations

import pytest

SCOPES = ("session", "package", "module")


def pytest_addoption(parser) -> None:
    parser.addini("coins_platform_scope", "How long one platform lives: session (default), package or module.")


def _scope(fixture_name: str, config) -> str:
    scope = config.getini("coins_platform_scope") or "session"
    if scope not in SCOPES:
        raise pytest.UsageError(f"coins_platform_scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    return scope


@pytest.fixture(scope="session")
def coins_platform_options() -> dict:
    """CoinsPlatform(**options): override to set images, policy or settings."""
    return {}


@pytest.fixture(scope=_scope)
def coins_platform(coins_platform_options):
    """The platform, started once for its scope and stopped at its end."""
    from coins_platform.testing import CoinsPlatform

    with CoinsPlatform(**coins_platform_options) as platform:
        yield platform
