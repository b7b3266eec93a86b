"""The pytest plugin (entry point `coins_platform`): a session's `coins_platform` fixture.

Its arguments come from the `coins_platform_options` fixture (a dict of CoinsPlatform's
keyword arguments; override it in your conftest.py) and the COINS_PLATFORM_* variables.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def coins_platform_options() -> dict:
    """CoinsPlatform(**options) for the session: override to set images, policy or settings."""
    return {}


@pytest.fixture(scope="session")
def coins_platform(coins_platform_options):
    """The platform started once for the session, stopped at its end."""
    from coins_platform.testing import CoinsPlatform

    with CoinsPlatform(**coins_platform_options) as platform:
        yield platform
