"""COINS_ENV=production refuses what is unsafe, each refusal naming the setting and why: an open or
unencrypted broker, a broker whose certificate name is not checked, a sandbox or placeholder
processor, a default or short password in a database URL or for the broker's principal.
COINS_ENV=staging (one host with the sandboxes, as deploy/compose.yaml runs) allows the sandboxes
and SASL without TLS, nothing else; local and test allow all of it."""

from __future__ import annotations

import pytest

from services.gifting.settings import load_settings as gifting_settings
from services.payout.settings import load_settings as payout_settings
from services.purchase.settings import load_settings as purchase_settings
from shared.env import ConfigError
from shared.kafka.clients import client_options

PASSWORD = "k7Qv2pWm9xLr4tYz"  # 16 characters, not a well-known one
PRODUCTION = {
    "COINS_ENV": "production",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka-0.kafka.coins.svc:9093",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": "purchase",
    "KAFKA_SASL_PASSWORD": PASSWORD,
    "PURCHASE_DATABASE_URL": f"postgresql://purchase:{PASSWORD}@purchase-db:5432/purchase",
    "PURCHASE_PROCESSOR": "sandbox",
    "PURCHASE_PROCESSOR_URL": "https://api.cards.example-processor.com/v1",
}


def test_a_safe_production_configuration_starts_with_tls_and_hostname_checking(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = purchase_settings({**PRODUCTION, "KAFKA_SSL_CAFILE": str(ca)})
    options = client_options(settings.common.kafka)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["ssl_cafile"] == str(ca) and options["ssl_check_hostname"] is True
    assert options["sasl_plain_username"] == "purchase"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "KAFKA_SECURITY_PROTOCOL=PLAINTEXT is refused"),
        ({"KAFKA_SECURITY_PROTOCOL": ""}, "KAFKA_SECURITY_PROTOCOL=PLAINTEXT is refused"),  # unset: the default
        ({"KAFKA_SECURITY_PROTOCOL": "SSL"}, "KAFKA_SECURITY_PROTOCOL=SSL is refused"),  # encrypted, anonymous
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT is refused"),
        ({"KAFKA_SASL_MECHANISM": ""}, "KAFKA_SASL_MECHANISM must be one of"),
        ({"KAFKA_SASL_MECHANISM": "PLAIN"}, "KAFKA_SASL_MECHANISM must be one of"),
        ({"KAFKA_SSL_CHECK_HOSTNAME": "false"}, "KAFKA_SSL_CHECK_HOSTNAME=false is refused"),
        ({"KAFKA_SSL_CHECK_HOSTNAME": "no"}, "KAFKA_SSL_CHECK_HOSTNAME must be true or false"),
        ({"KAFKA_SSL_CAFILE": "/nonexistent/ca.pem"}, "KAFKA_SSL_CAFILE '/nonexistent/ca.pem' is not a readable"),
        ({"KAFKA_SASL_PASSWORD": "coins"}, "KAFKA_SASL_PASSWORD: a default or well-known password"),
        ({"KAFKA_SASL_PASSWORD": "purchase"}, "KAFKA_SASL_PASSWORD: a default or well-known password"),  # = user
        ({"KAFKA_SASL_PASSWORD": "s3cr3t"}, "KAFKA_SASL_PASSWORD: a password of fewer than 12"),
        (
            {"PURCHASE_DATABASE_URL": "postgresql://coins:coins@purchase-db:5432/purchase"},
            "PURCHASE_DATABASE_URL: a default or well-known password",
        ),
        (
            {"PURCHASE_DATABASE_URL": "postgresql+psycopg://postgres:postgres@db/purchase"},
            "PURCHASE_DATABASE_URL: a default or well-known password",
        ),
        (
            {"PURCHASE_DATABASE_URL": "postgresql://purchase:Password@db/purchase"},
            "PURCHASE_DATABASE_URL: a default or well-known password",
        ),
        (
            {"PURCHASE_DATABASE_URL": "postgresql://purchase:short@db/purchase"},
            "PURCHASE_DATABASE_URL: a password of fewer than 12",
        ),
        ({"PURCHASE_DATABASE_URL": "not a url"}, "PURCHASE_DATABASE_URL is not a database URL"),
        ({"PURCHASE_PROCESSOR": ""}, "set PURCHASE_PROCESSOR"),
        ({"PURCHASE_PROCESSOR_URL": ""}, "PURCHASE_PROCESSOR_URL must name the real processor"),
        ({"PURCHASE_PROCESSOR_URL": "http://card-sandbox:8000"}, "names a sandbox processor"),
        ({"PURCHASE_PROCESSOR_URL": "https://payments-sandbox.example.com"}, "names a sandbox processor"),
        ({"PURCHASE_PROCESSOR_URL": "http://127.0.0.1:8004"}, "is on this host"),
        ({"PURCHASE_PROCESSOR_URL": "https://localhost/v1"}, "is on this host"),
        ({"PURCHASE_PROCESSOR_URL": "http://cards.example-processor.com"}, "must use https"),
        ({"PURCHASE_PROCESSOR_URL": "https://card-processor.set-me.invalid"}, "is the deployment's placeholder"),
    ],
)
def test_production_refuses_what_is_unsafe_naming_the_setting(change, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        purchase_settings({**PRODUCTION, **change})


def test_a_web_process_starts_without_the_brokers_password_but_never_on_an_open_broker():
    """Only relays and consumers log in to the broker; a web pod probes its ports and gets no password."""
    web = {key: value for key, value in PRODUCTION.items() if not key.startswith("KAFKA_SASL_P")}
    assert purchase_settings(web).common.kafka.sasl_password is None
    with pytest.raises(ConfigError, match="PLAINTEXT"):
        purchase_settings({**web, "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"})


def test_a_database_url_without_a_password_is_left_to_the_drivers_other_sources():
    """A passfile, a client certificate or a cloud IAM token: nothing in the URL to judge."""
    settings = purchase_settings({**PRODUCTION, "PURCHASE_DATABASE_URL": "postgresql://purchase@db/purchase"})
    assert settings.common.database_url == "postgresql://purchase@db/purchase"


def test_every_service_and_the_migrations_check_their_database_url():
    from shared.settings import database_url

    env = {**PRODUCTION, "GIFTING_DATABASE_URL": "postgresql://coins:coins@gifting-db/gifting"}
    with pytest.raises(ConfigError, match="GIFTING_DATABASE_URL"):
        gifting_settings(env)
    with pytest.raises(ConfigError, match="GIFTING_DATABASE_URL"):
        database_url("gifting", env)  # what `migrate` and `coinsctl prune` read
    payout = {
        **PRODUCTION,
        "PAYOUT_DATABASE_URL": f"postgresql://payout:{PASSWORD}@payout-db/payout",
        "PAYOUT_PROCESSOR": "sandbox",
        "PAYOUT_PROCESSOR_URL": "http://payout-sandbox:8000",
    }
    with pytest.raises(ConfigError, match="PAYOUT_PROCESSOR_URL='http://payout-sandbox:8000' names a sandbox"):
        payout_settings(payout)


def test_staging_allows_the_sandboxes_and_sasl_without_tls_and_nothing_else():
    staging = {
        **PRODUCTION,
        "COINS_ENV": "staging",
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "PURCHASE_PROCESSOR_URL": "http://card-sandbox:8000",
    }
    assert purchase_settings(staging).processor.url == "http://card-sandbox:8000"
    for change, message in [
        ({"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}, "PLAINTEXT is refused"),
        ({"KAFKA_SASL_PASSWORD": "changeme"}, "KAFKA_SASL_PASSWORD"),
        ({"PURCHASE_DATABASE_URL": "postgresql://coins:coins@db/purchase"}, "PURCHASE_DATABASE_URL"),
    ]:
        with pytest.raises(ConfigError, match=message):
            purchase_settings({**staging, **change})


@pytest.mark.parametrize("environment", ["local", "test"])
def test_local_and_test_runs_allow_the_open_broker_and_default_passwords(environment):
    settings = purchase_settings(
        {
            "COINS_ENV": environment,
            "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            "PURCHASE_DATABASE_URL": "postgresql://coins:coins@127.0.0.1/purchase",
        }
    )
    assert settings.common.kafka.security_protocol == "PLAINTEXT"
