"""Stories at the edges: custom coins never undercut a package, empty settings keep the default
block list, consumers read events with fields they do not know, errors never carry row values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from services.payout.domain.errors import CountryNotServed
from services.payout.settings import load_settings as payout_settings
from services.purchase.domain.pricing import PRICE_LISTS
from services.purchase.settings import load_settings as purchase_settings
from shared.contracts import GIFT_SENT, envelope_to_dict, new_event, parse_envelope
from shared.db.engines import safe_error
from shared.fields import identifier

ENV = {"COINS_ENV": "test"}


@given(country=st.sampled_from(sorted(PRICE_LISTS)), index=st.integers(0, 6))
def test_n_custom_coins_never_cost_less_than_the_package_of_n_coins(country, index):
    prices = PRICE_LISTS[country]
    package = prices.packages[index]
    assert prices.custom(package.coins).amount_minor >= package.amount_minor


def test_17500_custom_coins_cost_what_the_package_costs_not_less():
    assert PRICE_LISTS["US"].custom(17_500).amount_minor == 24_999  # was 24,750 at the 70-coin rate


@pytest.mark.parametrize("value", ["", None])
def test_an_empty_blocked_country_setting_means_the_default_list(value):
    env = {
        **ENV,
        **({"PURCHASE_BLOCKED_COUNTRIES": value, "PAYOUT_BLOCKED_COUNTRIES": value} if value is not None else {}),
    }
    assert "KP" in purchase_settings(env).rules.blocked_countries
    rules = payout_settings(env).rules
    with pytest.raises(CountryNotServed):
        rules.check_country("KP")


def test_staging_refuses_the_sandbox_processor_unless_asked_for_by_name():
    from shared.env import ConfigError

    staging = {
        "COINS_ENV": "staging",
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    }
    with pytest.raises(ConfigError, match="PURCHASE_PROCESSOR"):
        purchase_settings(staging)
    named = purchase_settings({**staging, "PURCHASE_PROCESSOR": "sandbox"})
    assert named.processor.name == "sandbox"


def test_a_processor_slower_than_the_key_lease_is_a_configuration_error():
    from shared.env import ConfigError

    with pytest.raises(ConfigError, match="IDEMPOTENCY_LEASE_SECONDS"):
        purchase_settings({**ENV, "IDEMPOTENCY_LEASE_SECONDS": "5", "PURCHASE_PROCESSOR_TIMEOUT_MS": "3000"})


def test_consumers_read_an_event_with_a_field_they_do_not_know_and_producers_stay_strict():
    data = {
        "gift_tx_id": "g1",
        "sender_id": "ann",
        "creator_id": "cat",
        "gift_id": "rose",
        "quantity": 1,
        "coins": 1,
        "diamonds": 1,
        "stream_id": None,
        "sent_at": "2026-01-01T00:00:00+00:00",
    }
    envelope, _ = new_event(GIFT_SENT, source="gifting", data=data)
    raw = envelope_to_dict(envelope)
    raw["data"]["emoji"] = "🌹"  # an additive v1 change
    raw["region"] = "eu"
    _, loaded = parse_envelope(raw)
    assert loaded["gift_tx_id"] == "g1" and "emoji" not in loaded
    with pytest.raises(ValidationError):
        new_event(GIFT_SENT, source="gifting", data={**data, "emoji": "🌹"})


def test_a_database_error_never_carries_the_rows_values():
    import sqlalchemy as sa

    engine = sa.create_engine("sqlite://", hide_parameters=True)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (account TEXT CHECK (length(account) < 3))"))
        with pytest.raises(sa.exc.IntegrityError) as failed:
            conn.execute(sa.text("INSERT INTO t VALUES (:a)"), {"a": "secret@example.com"})
    assert "secret@example.com" not in safe_error(failed.value)
    assert "secret@example.com" not in str(failed.value)


@pytest.mark.parametrize("value", ["ann\n", "a" * 64 + "\n", "a" * 65, "ann\r"])
def test_an_id_matches_as_a_whole(value):
    with pytest.raises(ValidationError):
        identifier().deserialize(value)
