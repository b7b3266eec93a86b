"""The money flow as metrics: how many events of each type, and the coins, diamonds and money
they carry, counted by the outbox relay when the broker acknowledges them.

Every business fact of the platform (a purchase completed or reversed, a gift sent, a withdrawal
paid or failed) is one event written in the same transaction as the fact, so counting events is
counting facts, whichever code path made them (the gift's single statement included), in the
one process per service that sees them all. Counts are at least once, as publishing is: an
event sent again (a relay that died between the broker's ack and marking it published, or
`coinsctl outbox republish`) is counted again. Ledgers are the databases; these are for rates.
The counters are shared.observability.metrics' EVENTS, EVENT_COINS, EVENT_DIAMONDS and EVENT_MONEY_MINOR.
"""

from __future__ import annotations

import json
import logging

from shared.observability import metrics

log = logging.getLogger(__name__)

MONEY_FIELDS = ("amount_minor", "net_minor")  # what a purchase charged, what a withdrawal paid


def count_published(service: str, topic: str, payload: str) -> None:
    """Count one acknowledged event (`payload` is the outbox row's JSON envelope)."""
    event_type = topic.rsplit(".v", 1)[0]
    metrics.EVENTS.labels(service, event_type).inc()
    try:
        data = json.loads(payload)["data"]
    except (ValueError, KeyError, TypeError):  # published all the same; the consumers dead-letter it
        log.warning("a published event has no data to count", extra={"topic": topic})
        return
    if not isinstance(data, dict):
        return
    if _amount(data.get("coins")):
        metrics.EVENT_COINS.labels(service, event_type).inc(data["coins"])
    if _amount(data.get("diamonds")):
        metrics.EVENT_DIAMONDS.labels(service, event_type).inc(data["diamonds"])
    money = next((data[f] for f in MONEY_FIELDS if _amount(data.get(f))), None)
    if money is not None and isinstance(data.get("currency"), str):
        metrics.EVENT_MONEY_MINOR.labels(service, event_type, data["currency"]).inc(money)


def _amount(value) -> bool:
    """An amount a counter can take: an integer, not negative (a counter only goes up)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
