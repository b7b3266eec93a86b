"""The money flow through the service images, as ops would run them."""

from __future__ import annotations

import pytest

from tests.support.stories import Api, buy, earnings, send_gift, spendable, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.containers


def test_buy_credit_gift_earn_withdraw_through_the_containers(coins_platform):
    platform = coins_platform
    api = Api(platform, platform.headers)
    viewer, creator = unique("viewer"), unique("creator")
    buy(api, viewer, package_id="coins_17500")
    buy(api, viewer, package_id="coins_7000")
    spendable(api, viewer, 24_500, timeout=60)
    assert send_gift(api, viewer, creator, "galaxy", quantity=22).status_code == 201
    register = api.post(
        "payout",
        "/v1/creators",
        {
            "creator_id": creator,
            "country": "US",
            "birth_date": "1990-01-01",
            "payout_method": {"type": "bank", "account": "US1234567890"},
        },
        key=None,
    )
    assert register.status_code == 201
    wait_until(lambda: earnings(api, creator)["available"] == 22_000, timeout=60, message="diamonds credited")
    withdrawal = api.post("payout", "/v1/withdrawals", {"creator_id": creator, "amount_minor": 10_000}).json()
    done = wait_until(
        lambda: (
            (w := api.get("payout", f"/v1/withdrawals/{withdrawal['withdrawal_id']}").json())["status"] == "completed"
            and w
        ),
        timeout=60,
        message="payout completed by the worker container",
    )
    assert done["gross_minor"] == done["net_minor"] + done["fee_minor"]
    assert earnings(api, creator)["withdrawn"] == 20_000
    report = platform.audit()
    assert report.ok, report.problems


def test_service_containers_run_as_non_root_and_report_healthy(coins_platform):
    platform = coins_platform
    for service in ("purchase", "gifting", "payout"):
        container = platform.containers[f"{service}-web"].get_wrapped_container()
        assert container.exec_run("id -u").output.decode().strip() == "10001"
        wait_until(
            lambda c=container: (c.reload() or c.attrs["State"].get("Health", {}).get("Status")) == "healthy",
            timeout=90,
            message=f"{service}'s HEALTHCHECK to pass",
        )


def test_the_broker_is_apache_kafka_and_holds_each_service_to_its_own_topics(coins_platform):
    platform = coins_platform
    from kafka.errors import TopicAuthorizationFailedError

    from shared.kafka.clients import make_producer
    from shared.kafka.settings import kafka_settings

    assert platform.kafka_version.startswith("4.")
    gifting = kafka_settings(
        {"KAFKA_BOOTSTRAP_SERVERS": platform.kafka_bootstrap, **platform.kafka_credentials.client_env("gifting")}
    )
    producer = make_producer(gifting, client_id="intruder")
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send("withdrawal.completed.v1", key=b"creator", value=b"{}").get(timeout=15)
    finally:
        producer.close(timeout=5)
