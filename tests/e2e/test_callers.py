"""Callers against the running processes: forged tokens refused by every service; a new caller's
key pair works once the policy names it and stops when its key is retired."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest
import requests

from coinsctl.tokens import issue_token
from shared.auth.tokens import SigningKey, generate_key_pair, load_signing_key
from shared.clock import utcnow
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
READS = {"purchase": "/v1/packages?country=US", "gifting": "/v1/gifts/catalog", "payout": "/v1/withdrawals/none"}


def status(stack, service: str, token: str) -> requests.Response:
    return requests.get(stack.url(service) + READS[service], headers={"Authorization": f"Bearer {token}"}, timeout=10)


def forgeries(keys, service: str) -> dict[str, str]:
    live, app = keys.signing_key("live"), keys.signing_key("app")
    other = {"purchase": "gifting", "gifting": "payout", "payout": "purchase"}[service]
    claims = {
        "iss": "app",
        "sub": "app",
        "aud": service,
        "iat": utcnow(),
        "exp": utcnow() + timedelta(minutes=5),
        "jti": "x",
    }
    return {
        "another caller's key": issue_token(SigningKey("app", app.kid, live.key), audience=service),
        "another caller's sub": issue_token(app, audience=service, subject="gateway"),
        "another service's aud": issue_token(app, audience=other),
        "a 24-hour lifetime": issue_token(app, audience=service, ttl_seconds=24 * 3600),
        "an unknown kid": jwt.encode(claims, app.key, algorithm="EdDSA", headers={"kid": "app-never-made"}),
        "no signature": jwt.encode(claims, None, algorithm="none", headers={"kid": app.kid}),
    }


def test_tokens_forged_each_way_are_refused_by_every_service(stack, caller_keys):
    for service in READS:
        assert status(stack, service, caller_keys.token("app", service)).status_code in (200, 404)
        for how, token in forgeries(caller_keys, service).items():
            response = status(stack, service, token)
            assert response.status_code == 401, (service, how, response.text)
            assert response.headers["Content-Type"] == "application/problem+json"
            assert "BEGIN" not in response.text and "PRIVATE" not in response.text


def test_a_new_callers_key_works_once_the_policy_names_it_and_stops_when_retired(stack, caller_keys):
    kid = generate_key_pair(caller_keys.private_dir, caller_keys.public_dir, "auditor2")
    token = issue_token(load_signing_key(caller_keys.private_dir, "auditor2", kid), audience="payout")
    # Installed without a restart (picked up within a second), but no policy names the caller yet.
    wait_until(
        lambda: status(stack, "payout", token).status_code == 403,
        timeout=15,
        message="the new public key to be picked up",
    )
    from services.payout.settings import DEFAULT_POLICY

    policy = {**{c: list(p) for c, p in DEFAULT_POLICY.items()}, "auditor2": ["withdrawals:read"]}
    try:
        stack.restart_process("payout-web", {"PAYOUT_AUTH_POLICY": json.dumps(policy)})
        stack.wait_ready(timeout_s=60)
        assert status(stack, "payout", token).status_code == 404  # allowed; there is no such withdrawal
        (caller_keys.public_dir / "auditor2" / f"{kid}.pem").unlink()  # retired, no restart
        wait_until(
            lambda: status(stack, "payout", token).status_code == 401,
            timeout=15,
            message="the retired key's token to be refused",
        )
    finally:
        stack.restart_process("payout-web")
        stack.wait_ready(timeout_s=60)
