"""coins_platform.testing's parts that need no Docker: image names, policy, tokens and grants."""

from __future__ import annotations

import jwt
import pytest

from coins_platform.testing import CallerKeys, CoinsPlatform, Images, PayoutSandbox, PlatformError
from shared.auth.tokens import KeyRing


def test_image_names_come_from_arguments_then_the_environment_then_the_defaults():
    assert Images.from_env({}).all == {
        "purchase": "coins-purchase:latest",
        "gifting": "coins-gifting:latest",
        "payout": "coins-payout:latest",
        "sandbox": "coins-sandbox:latest",
        "kafka": "coins-kafka:latest",
        "postgres": "coins-postgres:15",
    }
    env = {"COINS_PLATFORM_IMAGE_PREFIX": "reg/coins", "COINS_PLATFORM_IMAGE_TAG": "1.1.0"}
    env["COINS_PLATFORM_POSTGRES_IMAGE"] = "postgres:16"
    images = Images.from_env(env, tag="1.2.0")
    assert (images.service("payout"), images.all["kafka"], images.all["postgres"]) == (
        "reg/coins-payout:1.2.0",
        "reg/coins-kafka:1.2.0",
        "postgres:16",
    )


def test_a_policy_for_no_such_service_is_refused_and_nothing_is_issued_before_start():
    with pytest.raises(ValueError, match="wallet"):
        CoinsPlatform(policy={"wallet": {"my-app": ["x"]}})
    with pytest.raises(PlatformError, match="not started"):
        CoinsPlatform().token("gateway", service="gifting")


def test_tokens_and_user_grants_verify_with_the_public_keys_the_services_get():
    keys = CallerKeys(callers=("gateway",))
    try:
        assert keys.add("my-app") is True and keys.add("my-app") is False
        ring = KeyRing(keys.public_dir)
        grant = keys.token("gateway", "gifting", subject="u1", authorized_party="my-app", limits={"max_coins": 5})
        kid = jwt.get_unverified_header(grant)["kid"]
        claims = jwt.decode(grant, ring.get(kid).key, algorithms=["EdDSA"], audience="gifting")
        assert (claims["iss"], claims["sub"], claims["azp"], claims["max_coins"]) == ("gateway", "u1", "my-app", 5)
        assert ring.get(jwt.get_unverified_header(keys.token("my-app", "payout"))["kid"]).owner == "my-app"
        assert oct(keys.public_dir.stat().st_mode & 0o777) == "0o755"  # the containers' uid reads them
    finally:
        keys.remove()


def test_a_payout_account_scripts_its_behaviour_by_its_first_letters():
    account = PayoutSandbox.account(PayoutSandbox.FAILED)
    assert account.startswith("fail") and account != PayoutSandbox.account(PayoutSandbox.FAILED)
