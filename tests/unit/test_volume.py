"""The money-flow counters the relay keeps from what the broker acknowledged (shared.observability.volume)."""

import json

from prometheus_client import REGISTRY

from shared.observability.volume import count_many, count_published


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def envelope(**data) -> str:
    return json.dumps({"event_id": "e", "type": "t", "occurred_at": "2026-01-01T00:00:00Z", "data": data})


def test_a_purchase_counts_its_coins_and_what_it_charged_in_its_currency():
    labels = {"service": "purchase", "type": "purchase.completed"}
    before = (value("coins_event_coins_total", **labels), value("coins_events_total", **labels))
    charged = value("coins_event_money_minor_total", currency="EUR", **labels)
    count_published("purchase", "purchase.completed.v1", envelope(coins=700, amount_minor=999, currency="EUR"))
    assert value("coins_event_coins_total", **labels) == before[0] + 700
    assert value("coins_events_total", **labels) == before[1] + 1
    assert value("coins_event_money_minor_total", currency="EUR", **labels) == charged + 999


def test_a_gift_counts_coins_spent_and_diamonds_granted_and_a_withdrawal_what_it_paid():
    gift = {"service": "gifting", "type": "gift.sent"}
    coins, diamonds = value("coins_event_coins_total", **gift), value("coins_event_diamonds_total", **gift)
    count_published("gifting", "gift.sent.v1", envelope(coins=5, diamonds=2, quantity=5))
    assert value("coins_event_coins_total", **gift) == coins + 5
    assert value("coins_event_diamonds_total", **gift) == diamonds + 2
    paid = {"service": "payout", "type": "withdrawal.completed"}
    net = value("coins_event_money_minor_total", currency="USD", **paid)
    count_published(
        "payout",
        "withdrawal.completed.v1",
        envelope(diamonds=200, gross_minor=1000, fee_minor=50, net_minor=950, currency="USD"),
    )
    assert value("coins_event_money_minor_total", currency="USD", **paid) == net + 950  # net, not gross


def test_an_event_without_data_is_counted_as_an_event_and_nothing_more():
    labels = {"service": "gifting", "type": "odd.event"}
    count_published("gifting", "odd.event.v1", "not json")
    count_published("gifting", "odd.event.v1", json.dumps({"data": {"coins": "12"}}))  # not an integer: not counted
    assert value("coins_events_total", **labels) == 2
    assert value("coins_event_coins_total", **labels) == 0


def test_a_batch_is_counted_exactly_as_its_events_one_by_one():
    gift, bought = {"service": "mixed", "type": "gift.sent"}, {"service": "mixed", "type": "purchase.completed"}
    count_many(
        "mixed",
        [
            ("gift.sent.v1", envelope(coins=5, diamonds=2)),
            ("purchase.completed.v1", envelope(coins=700, amount_minor=999, currency="EUR")),
            ("gift.sent.v1", "not json"),
            ("gift.sent.v1", envelope(coins=3, diamonds=1)),
            ("purchase.completed.v1", envelope(coins=100, amount_minor=199, currency="USD")),
        ],
    )
    assert value("coins_events_total", **gift) == 3
    assert (value("coins_event_coins_total", **gift), value("coins_event_diamonds_total", **gift)) == (8, 3)
    assert value("coins_events_total", **bought) == 2
    assert value("coins_event_coins_total", **bought) == 800
    assert value("coins_event_money_minor_total", currency="EUR", **bought) == 999
    assert value("coins_event_money_minor_total", currency="USD", **bought) == 199
