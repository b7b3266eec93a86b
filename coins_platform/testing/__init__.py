"""The coins platform in another team's integration tests, as containers (testcontainers).

    from coins_platform.testing import CoinsPlatform

    with CoinsPlatform() as coins:                      # broker, databases, services, sandboxes
        headers = coins.headers("gateway", service="gifting")
        requests.get(coins.url("gifting") + "/v1/gifts/catalog", headers=headers, timeout=10)

Or the pytest fixture `coins_platform` (this package is a pytest plugin). Needs a Docker engine
and the images (deploy/build-images.sh); install with `pip install coins-platform[testing]`.
"""

from coins_platform.testing.keys import CallerKeys
from coins_platform.testing.platform import ROLES, SERVICES, CoinsPlatform, Images, PlatformError
from coins_platform.testing.sandboxes import CardSandbox, PayoutSandbox

__all__ = [
    "ROLES",
    "SERVICES",
    "CallerKeys",
    "CardSandbox",
    "CoinsPlatform",
    "Images",
    "PayoutSandbox",
    "PlatformError",
]
