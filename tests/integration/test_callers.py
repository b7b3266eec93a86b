"""Who may call, for whom: act-on-behalf grants, every route's declared permission, wiring that
fails closed outside local/test, and a key rotated under load without losing a request."""

from __future__ import annotations

import threading
import uuid
from importlib import import_module

import pytest
from flask import Blueprint

from coinsctl.tokens import issue_token
from shared.auth.tokens import generate_key_pair
from shared.credentials import SERVICES
from shared.env import ConfigError
from shared.http.app import OPEN_PREFIXES, spec_of
from shared.http.factory import create_app
from tests.integration.conftest import _environ, build_service, rows
from tests.integration.test_gifting_api import fund
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def gifting(make_service):
    return make_service("gifting", backend="sqlite")


def gift(client, caller_keys, caller: str, sender: str, grant: str | None = None):
    headers = caller_keys.headers(caller, service="gifting", **{"Idempotency-Key": str(uuid.uuid4())})
    if grant is not None:
        headers["X-User-Grant"] = grant
    return client.post(
        "/v1/gifts",
        headers=headers,
        json={"sender_id": sender, "creator_id": "creator", "gift_id": "rose", "quantity": 1},
    )


def grant(caller_keys, *, issuer="gateway", user="ann", party="live", service="gifting") -> str:
    return issue_token(
        caller_keys.signing_key(issuer),
        audience=service,
        subject=user,
        authorized_party=party,
        limits={"max_coins": 1},
    )


def test_live_spends_a_viewers_coins_only_with_the_gateways_grant_for_that_viewer(gifting, caller_keys):
    svc, client = gifting
    fund(svc, "ann", 10)
    assert gift(client, caller_keys, "live", "ann").status_code == 403  # no grant: not anyone's coins
    refused = {
        "for another user": grant(caller_keys, user="bob"),
        "for another caller": grant(caller_keys, party="app"),
        "for another service": grant(caller_keys, service="purchase"),
        "signed by live itself": grant(caller_keys, issuer="live"),
    }
    for why, token in refused.items():
        response = gift(client, caller_keys, "live", "ann", token)
        assert response.status_code == 403, why
        assert response.content_type == "application/problem+json"
    assert rows(svc, "gifts") == 0
    assert gift(client, caller_keys, "live", "ann", grant(caller_keys)).status_code == 201
    assert gift(client, caller_keys, "gateway", "ann").status_code == 201  # it authenticates users itself
    assert (
        client.get("/v1/wallets/ann", headers=caller_keys.headers("app", service="gifting")).get_json()["balance"] == 8
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_of_every_service_declares_a_permission(make_service, service):
    _, client = make_service(service, backend="sqlite")
    app = client.application
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(OPEN_PREFIXES):
            assert rule.rule.startswith("/v1/"), rule.rule
            assert spec_of(rule.endpoint).permission, rule.rule


# What production asks of the broker's settings (a web process holds no principal's password).
PRODUCTION_KAFKA = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}


def _service(service: str, url: str, **env):
    return import_module(f"services.{service}.bootstrap").bootstrap(
        import_module(f"services.{service}.settings").load_settings(_environ(service, url, **env))
    )


def test_a_route_without_a_permission_or_a_static_route_cannot_be_registered(tmp_path):
    svc = _service("gifting", f"sqlite:///{tmp_path}/g.db")
    undeclared = Blueprint("oops", __name__, url_prefix="/v1")
    undeclared.add_url_rule("/open-door", "open_door", lambda: "hi")
    with pytest.raises(ConfigError, match="/v1/open-door"):
        create_app(svc, blueprints=[undeclared], title="t", description="d")
    (tmp_path / "static").mkdir()
    files = Blueprint("files", __name__, static_folder=str(tmp_path / "static"), static_url_path="/static")
    with pytest.raises(ConfigError, match="/static"):
        create_app(svc, blueprints=[files], title="t", description="d")
    svc.engine.dispose()


@pytest.mark.parametrize(
    "env, setting",
    [
        ({"COINS_AUTH_KEYS_DIR": ""}, "COINS_AUTH_KEYS_DIR"),
        ({"COINS_AUTH_KEYS_DIR": "/nonexistent/keys"}, "COINS_AUTH_KEYS_DIR"),
        ({"GIFTING_AUTH_POLICY": "{}"}, "GIFTING_AUTH_POLICY"),
        ({"GIFTING_AUTH_POLICY": '{"nobody": ["wallets:read"]}'}, "GIFTING_AUTH_POLICY"),
        ({"COINS_AUTH_SECRET": "shh"}, "COINS_AUTH_SECRET"),
        ({"COINS_AUTH_CALLER_KEYS": '{"live": "k"}'}, "COINS_AUTH_CALLER_KEYS"),
        ({"COINS_ENV": "prod"}, "COINS_ENV"),
    ],
)
def test_production_wiring_fails_closed_naming_the_setting(tmp_path, env, setting):
    with pytest.raises(ConfigError, match=setting):
        svc = _service(
            "gifting", f"sqlite:///{tmp_path}/g.db", **{**PRODUCTION_KAFKA, "COINS_ENV": "production", **env}
        )
        create_app(svc, blueprints=[], title="t", description="d")


def test_production_starts_with_caller_keys_and_a_policy(tmp_path, caller_keys):
    svc, client = build_service("gifting", f"sqlite:///{tmp_path}/g.db", COINS_ENV="production", **PRODUCTION_KAFKA)
    assert client.get("/v1/gifts/catalog", headers=caller_keys.headers("app", service="gifting")).status_code == 200
    svc.engine.dispose()


def test_local_and_test_runs_may_start_without_keys_and_refuse_every_call(tmp_path):
    svc, client = build_service("gifting", f"sqlite:///{tmp_path}/g.db", COINS_ENV="local", COINS_AUTH_KEYS_DIR="")
    assert client.get("/v1/gifts/catalog").status_code == 401
    svc.engine.dispose()


def test_a_key_rotated_under_load_loses_no_request(make_service, caller_keys):
    """Requests run all along while a second key is installed, the caller switches to it, and the
    first is retired: every request succeeds, and the old key's tokens stop working."""
    _, client = make_service("gifting", backend="sqlite")
    generate_key_pair(caller_keys.private_dir, caller_keys.public_dir, "app", kid="app-rotated")
    new_public = caller_keys.public_dir / "app" / "app-rotated.pem"
    staged = new_public.read_bytes()
    new_public.unlink()  # installed below, while the load runs
    signer = {"kid": "app-test-1"}
    statuses: list[int] = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            token = issue_token(caller_keys.signing_key("app", signer["kid"]), audience="gifting")
            statuses.append(client.get("/v1/gifts/catalog", headers={"Authorization": f"Bearer {token}"}).status_code)

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:

        def served(n: int) -> None:
            target = len(statuses) + n
            wait_until(lambda: len(statuses) >= target, timeout=30, message=f"{n} more requests")

        served(50)
        new_public.write_bytes(staged)  # 1. the new public key is installed beside the old
        old_token = issue_token(caller_keys.signing_key("app", "app-test-1"), audience="gifting")
        wait_until(
            lambda: (
                client.get(
                    "/v1/gifts/catalog",
                    headers={
                        "Authorization": "Bearer "
                        + issue_token(caller_keys.signing_key("app", "app-rotated"), audience="gifting")
                    },
                ).status_code
                == 200
            ),
            timeout=10,
            message="the new key to be picked up",
        )
        signer["kid"] = "app-rotated"  # 2. the caller signs with the new key
        served(50)
        retired = caller_keys.public_dir / "app" / "app-test-1.pem"
        kept = retired.read_bytes()
        retired.unlink()  # 3. the old key is retired
        wait_until(
            lambda: (
                client.get("/v1/gifts/catalog", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
            ),
            timeout=10,
            message="the old key to be retired",
        )
        served(50)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        if not (caller_keys.public_dir / "app" / "app-test-1.pem").exists():
            (caller_keys.public_dir / "app" / "app-test-1.pem").write_bytes(kept)
        new_public.unlink(missing_ok=True)
        # and its private half: left, it is the newest, which later tests' tokens would be signed with
        (caller_keys.private_dir / "app" / "app-rotated.pem").unlink(missing_ok=True)
    assert len(statuses) >= 150 and set(statuses) == {200}, sorted(set(statuses))
